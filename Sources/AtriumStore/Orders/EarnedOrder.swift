import AtriumDomain
import Foundation

/// An order whose points are decided: every check has passed and only writing is left.
struct EarnedOrder: Sendable {
    var submission: OrderSubmission
    var member: EarningMember
    var breakdown: EarnBreakdown
    var paidAtMilliseconds: Int64
    var availableAtMilliseconds: Int64
    /// nil: the lots never expire.
    var expiresAtMilliseconds: Int64?
    var localDay: String
    /// Earned points that pay back the member's refund debt instead of landing in lots.
    var repaidDebtPoints: Int64
    /// Who gets the repaid points: the funders the debt was owed to (`MemberDebt.repay`).
    var repaid: [MemberDebt]
    /// The member's debts after this order.
    var debtsLeft: [MemberDebt]
    /// One lot per funder: the funder's points and what is left of them after paying debt.
    var lots: [(funder: Funder, points: Int64, remaining: Int64)]
    /// What the order takes from campaign budgets. Campaigns without a budget keep no running
    /// total: updating one row per order would make every till of the mall wait on that row.
    var budgetSpend: [(campaignId: Int64, points: Int64)]
    /// Points that pay part of the bill; nil: none.
    var payment: OrderPayment?
    /// Coupons that took part of the bill off, in the order given.
    var couponUses: [CouponUse]

    init(
        submission: OrderSubmission, member: EarningMember, breakdown: EarnBreakdown, context: OrderContext, clock: MallClockReading,
        localDay: LocalDate, budgetSpend: [(campaignId: Int64, points: Int64)], payment: OrderPayment?, couponUses: [CouponUse]
    ) {
        self.payment = payment
        self.couponUses = couponUses
        let paidAt = submission.paidAtMilliseconds
        self.submission = submission
        self.member = member
        self.breakdown = breakdown
        self.paidAtMilliseconds = paidAt
        self.availableAtMilliseconds = paidAt + Int64(context.pendingDays) * 86_400_000
        self.expiresAtMilliseconds = context.expiryPolicy.expiresAt(earnedAtMilliseconds: paidAt, clock: clock)
        self.localDay = localDay.description
        self.budgetSpend = budgetSpend
        (self.repaid, self.debtsLeft) = MemberDebt.repay(member.debts, from: breakdown.totalPoints)
        var debtLeft = repaid.reduce(0) { $0 + $1.points }
        self.repaidDebtPoints = debtLeft
        precondition(debtLeft == min(member.debtPoints, breakdown.totalPoints), "the debts loaded add up to the member's debt")
        self.lots = breakdown.pointsByFunder.map { share in
            let take = min(share.points, debtLeft)
            debtLeft -= take
            return (share.funder, share.points, share.points - take)
        }
        precondition(lots.reduce(0) { $0 + $1.remaining } + repaidDebtPoints == breakdown.totalPoints, "lots and repaid debt account for every earned point")
    }

    var storedLines: [StoredEarnLine] { breakdown.lines.map(StoredEarnLine.init) }

    var pointsSpent: Int64 { payment?.spend.payment.points ?? 0 }
    /// What points paid: their value when the member paid with them here, else what the till declared.
    var pointsPaidMinor: Int64 { payment?.spend.payment.valueMinor ?? submission.input.pointsPaidMinor }
    var couponPaidMinor: Int64 { Self.couponPaidMinor(submission.input, couponUses) }

    /// What coupons took off: their discounts when the member gave codes, else what the till declared.
    static func couponPaidMinor(_ input: OrderInput, _ uses: [CouponUse]) -> Int64 {
        input.couponCodes.isEmpty ? input.couponPaidMinor : uses.reduce(0) { $0 + $1.discountMinor }
    }

    /// The spend journal's explanation: the points each funder's lots paid.
    var spendLines: [StoredEarnLine] {
        (payment?.spend.pointsByFunder ?? []).map { share in
            StoredEarnLine(rule: "spend", description: "points funded by \(share.funder)", points: -share.points, funder: share.funder.description)
        }
    }

    var funding: [FundingShare] {
        breakdown.pointsByFunder.map { FundingShare(kind: $0.funder.kind, owner: $0.funder.ownerId, earned: $0.points, clawed: 0) }
    }

    /// The order as recorded, built from what was written rather than read back.
    func row(orderId: Int64, createdAtMilliseconds: Int64) -> OrderRow {
        let input = submission.input
        return OrderRow(
            id: orderId, orderNumber: input.orderNumber, merchantId: submission.merchantId, memberId: member.memberId,
            memberCode: member.memberCode, storeId: input.storeId, terminalId: input.terminalId, amountMinor: input.amountMinor,
            pointsPaidMinor: pointsPaidMinor, couponPaidMinor: couponPaidMinor, eligibleMinor: breakdown.eligibleMinor,
            lines: input.lines, paidAtMilliseconds: paidAtMilliseconds, breakdown: storedLines, earnedPoints: breakdown.totalPoints,
            refundedMinor: 0, clawedBackPoints: 0, availableAtMilliseconds: availableAtMilliseconds,
            createdAtMilliseconds: createdAtMilliseconds, pointsSpent: pointsSpent, pointsReturned: 0, coupons: couponUses,
            refunds: [])
    }
}
