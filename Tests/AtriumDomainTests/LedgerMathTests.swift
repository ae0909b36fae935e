import AtriumDomain
import Testing

@Suite("Refund maths, lots and journals")
struct LedgerMathTests {
    @Test func partialRefundsAddUpToTheWholeClawback() {
        let earned: Int64 = 100, amount: Int64 = 10_050
        var refunded: Int64 = 0, clawed: Int64 = 0
        var steps: [Int64] = []
        for refund in [3_333, 3_333, 3_384] as [Int64] {
            let delta = RefundMath.clawback(earnedPoints: earned, alreadyClawedPoints: clawed, refundedBeforeMinor: refunded, refundMinor: refund, orderAmountMinor: amount)
            steps.append(delta)
            clawed += delta
            refunded += refund
        }
        #expect(steps == [33, 33, 34])
        #expect(clawed == earned)
    }

    @Test(arguments: [1, 2, 3, 7, 13, 100] as [Int64])
    func anySplitIntoEqualPartsClawsBackExactly(parts: Int64) {
        let amount: Int64 = 99_991, earned: Int64 = 997
        var refunded: Int64 = 0, clawed: Int64 = 0
        for i in 0..<parts {
            let refund = i == parts - 1 ? amount - refunded : amount / parts
            let delta = RefundMath.clawback(earnedPoints: earned, alreadyClawedPoints: clawed, refundedBeforeMinor: refunded, refundMinor: refund, orderAmountMinor: amount)
            #expect(delta >= 0)
            clawed += delta
            refunded += refund
        }
        #expect(clawed == earned)
    }

    @Test func lineRefundsLetTheLastUnitTakeTheRemainder() {
        // 3 units for 1000: 333, 333, 334.
        #expect(RefundMath.lineRefundMinor(lineAmountMinor: 1_000, lineQuantity: 3, refundedQuantityBefore: 0, refundQuantity: 1) == 333)
        #expect(RefundMath.lineRefundMinor(lineAmountMinor: 1_000, lineQuantity: 3, refundedQuantityBefore: 1, refundQuantity: 1) == 333)
        #expect(RefundMath.lineRefundMinor(lineAmountMinor: 1_000, lineQuantity: 3, refundedQuantityBefore: 2, refundQuantity: 1) == 334)
        #expect(RefundMath.lineRefundMinor(lineAmountMinor: 1_000, lineQuantity: 3, refundedQuantityBefore: 0, refundQuantity: 3) == 1_000)
    }

    @Test func lotsAreDrawnEarliestExpiryFirstNeverExpiringLast() {
        let lots = [
            Lot(id: 1, amountPoints: 50, remainingPoints: 50, earnedAtMilliseconds: 1, availableAtMilliseconds: 1, expiresAtMilliseconds: nil, funder: .mall),
            Lot(id: 2, amountPoints: 30, remainingPoints: 30, earnedAtMilliseconds: 2, availableAtMilliseconds: 2, expiresAtMilliseconds: 500, funder: .merchant(1)),
            Lot(id: 3, amountPoints: 20, remainingPoints: 0, earnedAtMilliseconds: 3, availableAtMilliseconds: 3, expiresAtMilliseconds: 100, funder: .merchant(1)),
            Lot(id: 4, amountPoints: 40, remainingPoints: 25, earnedAtMilliseconds: 4, availableAtMilliseconds: 4, expiresAtMilliseconds: 200, funder: .merchant(2)),
        ]
        let (draws, uncovered) = LotConsumption.draw(70, from: lots)
        #expect(draws == [LotDraw(lotId: 4, points: 25), LotDraw(lotId: 2, points: 30), LotDraw(lotId: 1, points: 15)])
        #expect(uncovered == 0)
        let (all, short) = LotConsumption.draw(200, from: lots)
        #expect(all.reduce(0) { $0 + $1.points } == 105)
        #expect(short == 95)
        #expect(LotConsumption.draw(0, from: lots).draws.isEmpty)
    }

    @Test func expiredPointsAreDrawnApartFromRemainingOnes() {
        let lots = [
            Lot(id: 1, amountPoints: 50, remainingPoints: 0, earnedAtMilliseconds: 1, availableAtMilliseconds: 1, expiresAtMilliseconds: 100, funder: .mall, expiredPoints: 30),
            Lot(id: 2, amountPoints: 30, remainingPoints: 30, earnedAtMilliseconds: 2, availableAtMilliseconds: 2, expiresAtMilliseconds: 500, funder: .mall),
        ]
        let expired = LotConsumption.draw(40, from: lots, taking: \.expiredPoints)
        #expect(expired.draws == [LotDraw(lotId: 1, points: 30)])
        #expect(expired.uncoveredPoints == 10)
        let remaining = LotConsumption.draw(40, from: lots)
        #expect(remaining.draws == [LotDraw(lotId: 2, points: 30)])
        #expect(remaining.uncoveredPoints == 10)
        #expect(lots.allSatisfy { $0.isConsistent })
        var over = lots[0]
        over.remainingPoints = 21
        #expect(!over.isConsistent, "remaining and expired together exceed the amount")
        over.remainingPoints = 1
        #expect(!over.isConsistent, "a lot is live or expired, never both")
    }

    /// The refunded order (id 9) earned 100 from merchant 7 in two lots: 20 remain in one, the
    /// other's 30 expired, 50 were spent. Another order's lot holds 10. A refund claws back 70.
    @Test func aClawbackCountsTheOrdersExpiredPointsBeforeTakingFromOtherLots() {
        let lots = [
            Lot(id: 1, amountPoints: 70, remainingPoints: 20, earnedAtMilliseconds: 1, availableAtMilliseconds: 1, expiresAtMilliseconds: 900, funder: .merchant(7), orderId: 9),
            Lot(id: 2, amountPoints: 10, remainingPoints: 10, earnedAtMilliseconds: 2, availableAtMilliseconds: 2, expiresAtMilliseconds: 900, funder: .mall, orderId: 8),
            Lot(id: 3, amountPoints: 30, remainingPoints: 0, earnedAtMilliseconds: 1, availableAtMilliseconds: 1, expiresAtMilliseconds: 50, funder: .merchant(7), orderId: 9, expiredPoints: 30),
        ]
        #expect(lots.allSatisfy { $0.isConsistent })
        let stop = ClawbackPlan(wanted: [(.merchant(7), 70)], orderId: 9, lots: lots, policy: .stopAtZero)
        #expect(stop.draws == [LotDraw(lotId: 1, points: 20), LotDraw(lotId: 2, points: 10)])
        #expect(stop.expiredDraws == [LotDraw(lotId: 3, points: 30)])
        #expect(stop.coveredPoints == 30 && stop.expiredPoints == 30 && stop.shortfallPoints == 10 && stop.debtPoints == 0)
        #expect(stop.returnedByFunder.map(\.points) == [30])
        let debt = ClawbackPlan(wanted: [(.merchant(7), 70)], orderId: 9, lots: lots, policy: .allowDebt)
        #expect(debt.coveredPoints == 30 && debt.expiredPoints == 30 && debt.debtPoints == 10 && debt.shortfallPoints == 0)
        // The funder gets back now what lots covered; the rest is owed to it; the member loses lots and debt.
        #expect(debt.returnedByFunder.map(\.points) == [30])
        #expect(debt.debtByFunder == [MemberDebt(funder: .merchant(7), points: 10)])
        #expect(debt.memberPoints == 40)
        #expect(stop.debtByFunder.isEmpty)
        // Only expired points: nothing is taken from the member, nothing is owed.
        let gone = ClawbackPlan(wanted: [(.merchant(7), 30)], orderId: 9, lots: [lots[2]], policy: .allowDebt)
        #expect(gone.draws.isEmpty && gone.returnedByFunder.isEmpty && gone.memberPoints == 0 && gone.expiredPoints == 30)
    }

    /// Two funders share a refund of 100 (merchant 7: 60, the mall: 40); the member's other lot
    /// holds 70. The other lot's points go to the funders in order; what is missing is owed to
    /// the funder that came short.
    @Test func aDebtIsOwedToTheFunderThatDidNotGetItsPointsBack() {
        let lots = [
            Lot(id: 1, amountPoints: 70, remainingPoints: 70, earnedAtMilliseconds: 1, availableAtMilliseconds: 1, expiresAtMilliseconds: nil, funder: .merchant(8), orderId: 2),
        ]
        let plan = ClawbackPlan(wanted: [(.merchant(7), 60), (.mall, 40)], orderId: 9, lots: lots, policy: .allowDebt)
        #expect(plan.returnedByFunder.map(\.points) == [60, 10])
        #expect(plan.debtByFunder == [MemberDebt(funder: .mall, points: 30)])
        #expect(plan.coveredPoints == 70 && plan.debtPoints == 30 && plan.memberPoints == 100)
        let journal = Journal.clawback(memberId: 5, byFunder: plan.returnedByFunder, debtPoints: plan.debtPoints)
        #expect(journal.postings == [
            Posting(account: .member(5), points: -100), Posting(account: .funder(.merchant(7)), points: 60),
            Posting(account: .funder(.mall), points: 10), Posting(account: .memberDebt(5), points: 30),
        ])
    }

    @Test func debtsAreRepaidOldestFirstAsFarAsThePointsGo() throws {
        let debts = [MemberDebt(funder: .merchant(7), points: 30), MemberDebt(funder: .merchant(8), points: 20)]
        let none = MemberDebt.repay(debts, from: 0)
        #expect(none.repaid.isEmpty && none.left == debts)
        let part = MemberDebt.repay(debts, from: 30)
        #expect(part.repaid == [MemberDebt(funder: .merchant(7), points: 30)])
        #expect(part.left == [MemberDebt(funder: .merchant(8), points: 20)])
        let across = MemberDebt.repay(debts, from: 31)
        #expect(across.repaid == [MemberDebt(funder: .merchant(7), points: 30), MemberDebt(funder: .merchant(8), points: 1)])
        #expect(across.left == [MemberDebt(funder: .merchant(8), points: 19)])
        let all = MemberDebt.repay(debts, from: 50)
        #expect(all.left.isEmpty && all.repaid == debts)
        let more = MemberDebt.repay(debts, from: 51)
        #expect(more.left.isEmpty && more.repaid == debts, "never more than is owed")
        #expect(try MemberDebt.total(debts) == 50)
        #expect(throws: DomainError.self) { try MemberDebt.total([MemberDebt(funder: .mall, points: .max), MemberDebt(funder: .mall, points: 1)]) }
        let repayment = Journal.repayment(memberId: 5, byFunder: across.repaid.map { ($0.funder, $0.points) })
        #expect(repayment.kind == .repay)
        #expect(repayment.postings == [
            Posting(account: .memberDebt(5), points: -31), Posting(account: .funder(.merchant(7)), points: 30), Posting(account: .funder(.merchant(8)), points: 1),
        ])
    }

    @Test func journalsBalanceAndDropZeroPostings() {
        let earn = Journal.earn(memberId: 5, byFunder: [(.merchant(7), 100), (.mall, 50)])
        #expect(earn.postings.reduce(0) { $0 + $1.points } == 0)
        #expect(earn.postings.first == Posting(account: .member(5), points: 150))
        let back = Journal.clawback(memberId: 5, byFunder: [(.merchant(7), 10), (.mall, 0)])
        #expect(back.postings.count == 2)
        #expect(back.postings.map(\.points) == [-10, 10])
    }

    @Test func arithmeticSaturatesInsteadOfTrapping() {
        #expect(Arithmetic.multiplyDivide(Int64.max, 3, 2) == Int64.max)
        #expect(Arithmetic.multiplyDivide(1_000_000_000_000_000_000, 90_000, 10_000) == 9_000_000_000_000_000_000)
        #expect(Arithmetic.multiplyDivide(7, 3, 2) == 10)
        #expect(Arithmetic.addSaturating(Int64.max, 1) == Int64.max)
        #expect(Arithmetic.addSaturating(Int64.min, -1) == Int64.min)
    }
}

