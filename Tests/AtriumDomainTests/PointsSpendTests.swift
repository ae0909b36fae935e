import Testing
@testable import AtriumDomain

@Suite("Paying with points draws lots, and refunds give them back")
struct PointsSpendTests {
    static let policy = PointsPaymentPolicy(stepPoints: 100, stepValueMinor: 100, maxShareBasisPoints: 5_000, minimumPoints: 100)
    static let now: Int64 = 1_000_000_000

    static func lot(_ id: Int64, _ points: Int64, expires: Int64?, funder: Funder = .mall, availableAt: Int64 = 0) -> Lot {
        Lot(id: id, amountPoints: points, remainingPoints: points, earnedAtMilliseconds: id, availableAtMilliseconds: availableAt,
            expiresAtMilliseconds: expires, funder: funder)
    }

    @Test func paymentDrawsTheEarliestExpiringLotsAndNamesTheirFunders() throws {
        let lots = [
            Self.lot(1, 300, expires: nil, funder: .merchant(7)),
            Self.lot(2, 200, expires: Self.now + 10, funder: .merchant(8)),
            Self.lot(3, 150, expires: Self.now + 5, funder: .mall),
        ]
        let spend = try PointsSpend.plan(
            points: 500, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 0, heldByOthersPoints: 0, atMilliseconds: Self.now, field: "f")
        #expect(spend.payment == PointsPayment(points: 500, valueMinor: 500))
        #expect(spend.draws == [
            SpendDraw(lotId: 3, funder: .mall, points: 150, lotExpiresAtMilliseconds: Self.now + 5),
            SpendDraw(lotId: 2, funder: .merchant(8), points: 200, lotExpiresAtMilliseconds: Self.now + 10),
            SpendDraw(lotId: 1, funder: .merchant(7), points: 150, lotExpiresAtMilliseconds: nil),
        ])
        #expect(spend.pointsByFunder.map(\.funder) == [.mall, .merchant(7), .merchant(8)])
        #expect(spend.pointsByFunder.map(\.points) == [150, 150, 200])
    }

    @Test func lotsExpiredAtThisInstantOrStillPendingDoNotPay() throws {
        let lots = [
            Self.lot(1, 100, expires: Self.now),                        // expires at this very instant: gone
            Self.lot(2, 100, expires: Self.now + 1),                    // lives one millisecond more
            Self.lot(3, 100, expires: nil, availableAt: Self.now + 1),  // pending one millisecond more
            Self.lot(4, 100, expires: nil, availableAt: Self.now),      // available at this very instant
        ]
        let spend = try PointsSpend.plan(
            points: 200, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 0, heldByOthersPoints: 0, atMilliseconds: Self.now, field: "f")
        #expect(spend.draws.map(\.lotId) == [2, 4])
        #expect(throws: DomainError.failedPrecondition(.insufficientPoints, "the member can spend 200 points")) {
            try PointsSpend.plan(
                points: 300, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 0, heldByOthersPoints: 0, atMilliseconds: Self.now, field: "f")
        }
    }

    @Test func debtAndOtherHoldsAreNotSpendable() throws {
        let lots = [Self.lot(1, 1_000, expires: nil)]
        // 1,000 in lots, 300 owed, 200 held elsewhere: 500 to spend, exactly.
        let exact = try PointsSpend.plan(
            points: 500, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 300, heldByOthersPoints: 200, atMilliseconds: Self.now, field: "f")
        #expect(exact.draws == [SpendDraw(lotId: 1, funder: .mall, points: 500, lotExpiresAtMilliseconds: nil)])
        #expect(throws: DomainError.failedPrecondition(.insufficientPoints, "the member can spend 500 points")) {
            try PointsSpend.plan(
                points: 600, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 300, heldByOthersPoints: 200, atMilliseconds: Self.now, field: "f")
        }
        #expect(throws: DomainError.failedPrecondition(.insufficientPoints, "the member can spend 0 points")) {
            try PointsSpend.plan(
                points: 100, billMinor: 10_000, policy: Self.policy, lots: lots, debtPoints: 900, heldByOthersPoints: 200, atMilliseconds: Self.now, field: "f")
        }
    }

    @Test func aRefundReturnsThePaidPointsInProportionAndAllOfThemAtTheEnd() {
        // 1,000 points paid part of a ¥100.00 order: refunds of ¥33.33, ¥33.33 and the rest.
        let first = SpendReturnPlan.points(spentPoints: 1_000, returnedPoints: 0, refundedBeforeMinor: 0, refundMinor: 3_333, orderAmountMinor: 10_000)
        let second = SpendReturnPlan.points(spentPoints: 1_000, returnedPoints: first, refundedBeforeMinor: 3_333, refundMinor: 3_333, orderAmountMinor: 10_000)
        let last = SpendReturnPlan.points(
            spentPoints: 1_000, returnedPoints: first + second, refundedBeforeMinor: 6_666, refundMinor: 3_334, orderAmountMinor: 10_000)
        #expect([first, second, last] == [333, 333, 334])
    }

    @Test func returnedPointsGoBackToLiveLotsLatestFirstAndExpiredOnesBecomeANewLot() {
        let draws = [
            SpendDraw(lotId: 1, funder: .merchant(7), points: 300, lotExpiresAtMilliseconds: Self.now),      // expired at this instant
            SpendDraw(lotId: 2, funder: .mall, points: 200, lotExpiresAtMilliseconds: Self.now + 1),        // lives
            SpendDraw(lotId: 3, funder: .merchant(7), points: 100, lotExpiresAtMilliseconds: nil, returnedPoints: 40),
        ]
        let plan = SpendReturnPlan(returning: 400, of: draws, atMilliseconds: Self.now, minimumValidityDays: 30)
        #expect(plan.points == 400)
        #expect(plan.returnedByDraw == [LotDraw(lotId: 3, points: 60), LotDraw(lotId: 2, points: 200), LotDraw(lotId: 1, points: 140)])
        #expect(plan.restores == [LotDraw(lotId: 3, points: 60), LotDraw(lotId: 2, points: 200)])
        #expect(plan.newLots.map(\.funder) == [.merchant(7)])
        #expect(plan.newLots.map(\.points) == [140])
        #expect(plan.newLotsExpireAtMilliseconds == Self.now + 30 * 86_400_000)
    }

    @Test func spendJournalsMoveThePointsToThePayingMerchantAndBackOnReturn() {
        let spend = Journal.spend(memberId: 5, merchantId: 7, points: 300)
        #expect(spend.kind == .spend)
        #expect(spend.postings == [Posting(account: .member(5), points: -300), Posting(account: .funder(.merchant(7)), points: 300)])
        let back = Journal.spendReturn(memberId: 5, merchantId: 7, points: 120)
        #expect(back.postings == [Posting(account: .member(5), points: 120), Posting(account: .funder(.merchant(7)), points: -120)])
    }

    @Test func redemptionsAreValuedAtWhatThePointsPaidNotAtTheirIssuanceValue() throws {
        // Issued at 100 points = ¥0.50, redeemed at 100 points = ¥1.00.
        let valuation = PointValuation(issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 0, redeemPoints: 100, redeemValueMinor: 100)
        #expect(try valuation.amountMinor(points: 300, kind: .spend) == 300)
        #expect(try valuation.amountMinor(points: -120, kind: .spendReturn) == -120)
        #expect(try valuation.amountMinor(points: -300, kind: .earn) == -150)
    }
}

@Suite("Coupons in the domain")
struct CouponDomainTests {
    @Test func codesAreSixteenCharactersOfCrockfordBase32CarryingEightyBits() {
        var generator = SystemRandomNumberGenerator()
        let codes = (0..<1_000).map { _ in CouponCode.make(using: &generator) }
        #expect(codes.allSatisfy(CouponCode.isWellFormed))
        #expect(Set(codes).count == 1_000)
        #expect(!CouponCode.isWellFormed("000000000000000I") && !CouponCode.isWellFormed("ABC"))
        // Every one of the 80 bits reaches the code: all zeros and all ones differ everywhere.
        struct Fixed: RandomNumberGenerator { var value: UInt64; mutating func next() -> UInt64 { value } }
        var zeros = Fixed(value: 0), ones = Fixed(value: .max)
        #expect(CouponCode.make(using: &zeros) == "0000000000000000")
        #expect(CouponCode.make(using: &ones) == "ZZZZZZZZZZZZZZZZ")
    }

    @Test func aCouponExpiresAtItsLastInstantExactlyAndIsValidFromItsFirst() {
        #expect(CouponStatus.at(used: false, fromMilliseconds: 100, untilMilliseconds: 200, nowMilliseconds: 99) == .notYetValid)
        #expect(CouponStatus.at(used: false, fromMilliseconds: 100, untilMilliseconds: 200, nowMilliseconds: 100) == .valid)
        #expect(CouponStatus.at(used: false, fromMilliseconds: 100, untilMilliseconds: 200, nowMilliseconds: 199) == .valid)
        #expect(CouponStatus.at(used: false, fromMilliseconds: 100, untilMilliseconds: 200, nowMilliseconds: 200) == .expired)
        #expect(CouponStatus.at(used: true, fromMilliseconds: 100, untilMilliseconds: 200, nowMilliseconds: 300) == .used)
    }

    @Test func issuingStopsAtTheQuantityAndAtEachMembersLimitExactly() throws {
        let template = CouponTemplate(
            id: 9, name: "t", benefit: .amountOff(minor: 100), minimumSpendMinor: 0, validity: .daysAfterIssue(1), merchantIds: [], categories: [],
            perMemberLimit: 2, totalQuantity: 10, mallShareBasisPoints: 0)
        try CouponIssuance.admit(template: template, issuedCount: 8, memberIds: [1, 2], heldByMember: [1: 1])
        #expect(throws: DomainError.failedPrecondition(.couponQuantityExhausted, "template 9 has 1 coupons left, not 2")) {
            try CouponIssuance.admit(template: template, issuedCount: 9, memberIds: [1, 2], heldByMember: [:])
        }
        #expect(throws: DomainError.failedPrecondition(.couponMemberLimit, "member 1 already holds 2 coupons of template 9")) {
            try CouponIssuance.admit(template: template, issuedCount: 0, memberIds: [2, 1], heldByMember: [1: 2])
        }
        var unlimited = template
        unlimited.totalQuantity = 0
        try CouponIssuance.admit(template: unlimited, issuedCount: 1_000_000, memberIds: [3], heldByMember: [:])
    }
}
