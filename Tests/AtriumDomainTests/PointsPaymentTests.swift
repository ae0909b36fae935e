import Testing
@testable import AtriumDomain

@Suite("Points as payment at checkout")
struct PointsPaymentTests {
    /// 100 points pay ¥1 (100 fen), at most half a bill, at least 500 points.
    static let policy = PointsPaymentPolicy(stepPoints: 100, stepValueMinor: 100, maxShareBasisPoints: 5_000, minimumPoints: 500)

    @Test func pointsPayInWholeStepsAtTheMallsValue() throws {
        #expect(try Self.policy.pay(points: 1_200, billMinor: 10_000, spendablePoints: 5_000, field: "f") == PointsPayment(points: 1_200, valueMinor: 1_200))
        let odd = PointsPaymentPolicy(stepPoints: 50, stepValueMinor: 3, maxShareBasisPoints: 10_000, minimumPoints: 0)
        #expect(try odd.pay(points: 150, billMinor: 9, spendablePoints: 150, field: "f") == PointsPayment(points: 150, valueMinor: 9))
        #expect(throws: DomainError.invalid("f", "must be whole steps of 100 points")) {
            try Self.policy.pay(points: 1_250, billMinor: 10_000, spendablePoints: 5_000, field: "f")
        }
        #expect(throws: DomainError.invalid("f", "must be positive")) { try Self.policy.pay(points: 0, billMinor: 10_000, spendablePoints: 5_000, field: "f") }
    }

    @Test func theBillsShareIsTheCeilingExactlyAndOneStepOverIsRefused() throws {
        // Half of ¥99.99 is 4,999 fen: 49 whole steps of ¥1, so 4,900 points.
        #expect(Self.policy.maximumPoints(billMinor: 9_999) == 4_900)
        #expect(try Self.policy.pay(points: 4_900, billMinor: 9_999, spendablePoints: 10_000, field: "f").valueMinor == 4_900)
        #expect(throws: DomainError.failedPrecondition(.pointsAboveBillShare, "at most 4900 points may pay this bill (5000 basis points of it)")) {
            try Self.policy.pay(points: 5_000, billMinor: 9_999, spendablePoints: 10_000, field: "f")
        }
        #expect(Self.policy.maximumPoints(billMinor: 10_000) == 5_000)
        #expect(Self.policy.maximumPoints(billMinor: 0) == 0)
        let whole = PointsPaymentPolicy(stepPoints: 1, stepValueMinor: 1, maxShareBasisPoints: 10_000, minimumPoints: 0)
        #expect(whole.maximumPoints(billMinor: Int64.max) == Int64.max, "a huge bill saturates instead of trapping")
    }

    @Test func theMinimumIsAllowedExactlyAndOneStepBelowIsRefused() throws {
        #expect(try Self.policy.pay(points: 500, billMinor: 10_000, spendablePoints: 500, field: "f").points == 500)
        #expect(throws: DomainError.failedPrecondition(.pointsBelowMinimum, "at least 500 points pay at once")) {
            try Self.policy.pay(points: 400, billMinor: 10_000, spendablePoints: 5_000, field: "f")
        }
    }

    @Test func aMemberSpendsAllItHasAndNotOnePointMore() throws {
        #expect(try Self.policy.pay(points: 700, billMinor: 10_000, spendablePoints: 700, field: "f").points == 700)
        #expect(throws: DomainError.failedPrecondition(.insufficientPoints, "the member can spend 699 points")) {
            try Self.policy.pay(points: 700, billMinor: 10_000, spendablePoints: 699, field: "f")
        }
    }

    @Test func aMallWithoutAShareTakesNoPoints() {
        let off = PointsPaymentPolicy(stepPoints: 100, stepValueMinor: 100, maxShareBasisPoints: 0, minimumPoints: 0)
        #expect(throws: DomainError.failedPrecondition(.pointsPaymentOff, "points do not pay at this mall")) {
            try off.pay(points: 100, billMinor: 10_000, spendablePoints: 5_000, field: "f")
        }
        #expect(off.maximumPoints(billMinor: 10_000) == 0)
    }

    @Test func spendableLotsAreAvailableAndNotYetExpiredAtThatInstant() throws {
        let now: Int64 = 1_000_000
        let funder = Funder.mall
        let lots = [
            Lot(id: 1, amountPoints: 100, remainingPoints: 100, earnedAtMilliseconds: 0, availableAtMilliseconds: 0, expiresAtMilliseconds: now, funder: funder),
            Lot(id: 2, amountPoints: 200, remainingPoints: 200, earnedAtMilliseconds: 0, availableAtMilliseconds: 0, expiresAtMilliseconds: now + 1, funder: funder),
            Lot(id: 3, amountPoints: 300, remainingPoints: 300, earnedAtMilliseconds: 0, availableAtMilliseconds: now, expiresAtMilliseconds: nil, funder: funder),
            Lot(id: 4, amountPoints: 400, remainingPoints: 400, earnedAtMilliseconds: 0, availableAtMilliseconds: now + 1, expiresAtMilliseconds: nil, funder: funder),
            Lot(id: 5, amountPoints: 500, remainingPoints: 0, earnedAtMilliseconds: 0, availableAtMilliseconds: 0, expiresAtMilliseconds: nil, funder: funder),
        ]
        // Lot 1 expires at this very instant; lot 3's window ends at it; lot 4's a millisecond later.
        #expect(LotConsumption.spendable(lots, atMilliseconds: now).map(\.id) == [2, 3])
        #expect(try LotConsumption.spendablePoints(lots, debtPoints: 0, atMilliseconds: now) == 500)
        #expect(try LotConsumption.spendablePoints(lots, debtPoints: 120, atMilliseconds: now) == 380)
        #expect(try LotConsumption.spendablePoints(lots, debtPoints: 900, atMilliseconds: now) == 0)
        #expect(try LotConsumption.spendablePoints(lots, debtPoints: 0, atMilliseconds: now - 1) == 300, "a millisecond earlier: lots 1 and 2, not yet 3")
        // Spending takes the earliest expiry first: lot 2, then the never-expiring lot 3.
        let draws = LotConsumption.draw(250, from: LotConsumption.spendable(lots, atMilliseconds: now)).draws
        #expect(draws == [LotDraw(lotId: 2, points: 200), LotDraw(lotId: 3, points: 50)])
    }
}

@Suite("Point holds in the domain")
struct PointHoldDomainTests {
    @Test func aHoldExpiresAtItsExpiryInstantExactly() {
        #expect(PointHoldStatus.at(.held, expiresAtMilliseconds: 1_000, nowMilliseconds: 999) == .held)
        #expect(PointHoldStatus.at(.held, expiresAtMilliseconds: 1_000, nowMilliseconds: 1_000) == .expired)
        #expect(PointHoldStatus.at(.released, expiresAtMilliseconds: 1_000, nowMilliseconds: 2_000) == .released)
        #expect(PointHoldStatus.at(.captured, expiresAtMilliseconds: 1_000, nowMilliseconds: 2_000) == .captured)
    }

    @Test func aHoldMeetsEveryRuleOfAPaymentButTheBillsShare() throws {
        let policy = PointsPaymentTests.policy
        try policy.reserve(points: 500, spendablePoints: 500, field: "points")
        #expect(throws: DomainError.failedPrecondition(.insufficientPoints, "the member can spend 499 points")) {
            try policy.reserve(points: 500, spendablePoints: 499, field: "points")
        }
        #expect(throws: DomainError.failedPrecondition(.pointsBelowMinimum, "at least 500 points pay at once")) {
            try policy.reserve(points: 400, spendablePoints: 5_000, field: "points")
        }
        #expect(throws: DomainError.invalid("points", "must be whole steps of 100 points")) { try policy.reserve(points: 550, spendablePoints: 5_000, field: "points") }
    }
}
