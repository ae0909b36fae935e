import AtriumDomain
import Foundation

/// What a batch's evaluation reads, and the running state its orders change: an order sees the
/// debt, daily totals and campaign budgets left by the orders before it in the same batch.
struct OrderBatchLoad {
    var submissions: [OrderSubmission]
    var contexts: [Int64: OrderContext]
    /// The mall's clock for each submission; nil where its merchant is unknown.
    var clocks: [MallClockReading?]
    var members: EarningMembers
    /// Their spend changes as the batch's orders award points; their budgets do not.
    var campaigns: [Campaign]
    /// Campaigns whose spend is counted (see `EarnedOrder.budgetSpend`).
    let budgetedCampaignIds: Set<Int64>
    /// The paying members' lots, holds and coupons, as the batch's payments leave them.
    var spending: BatchSpending

    init(
        submissions: [OrderSubmission], contexts: [Int64: OrderContext], clocks: [MallClockReading?], members: EarningMembers, campaigns: [Campaign],
        spending: BatchSpending
    ) {
        self.spending = spending
        self.submissions = submissions
        self.contexts = contexts
        self.clocks = clocks
        self.members = members
        self.campaigns = campaigns
        self.budgetedCampaignIds = Set(campaigns.lazy.filter { $0.budgetPoints > 0 }.map(\.id))
    }

    /// Checks and evaluates submission `index`; when it earns, applies its effects to the state.
    mutating func evaluate(at index: Int) -> Result<EarnedOrder, DomainError> {
        let submission = submissions[index]
        guard let context = contexts[submission.merchantId], let clock = clocks[index] else {
            return .failure(.notFound("merchant \(submission.merchantId)"))
        }
        guard let memberId = members.memberId(for: submission.input.member), var member = members[memberId] else {
            return .failure(context.merchantStatus == .active ? .notFound("member") : .failedPrecondition(.merchantSuspended, "merchant \(submission.merchantId) is suspended"))
        }
        if let refusal = EarningAdmission.admit(
            merchantId: submission.merchantId, merchantActive: context.merchantStatus == .active, memberCode: member.memberCode, memberFrozen: member.frozen)
        {
            return .failure(refusal)
        }
        let input = submission.input
        // Coupons first, on the bill; then points, on what the coupons left.
        var couponUses: [CouponUse] = []
        var payment: OrderPayment?
        let couponPaidMinor: Int64
        do {
            if !input.couponCodes.isEmpty { couponUses = try spending.couponUses(for: submission, memberId: memberId, category: context.category) }
            couponPaidMinor = EarnedOrder.couponPaidMinor(input, couponUses)
            if input.paysWithPoints {
                payment = try spending.payment(
                    for: submission, memberId: memberId, debtPoints: member.debtPoints, couponPaidMinor: couponPaidMinor, policy: context.pointsPayment)
            }
        } catch {
            return .failure(error)
        }
        let paidAt = submission.paidAtMilliseconds
        let localDay = clock.localDate(atMilliseconds: paidAt)
        let facts = OrderFacts(
            merchantId: submission.merchantId, category: context.category, amountMinor: input.amountMinor,
            pointsPaidMinor: payment?.spend.payment.valueMinor ?? input.pointsPaidMinor, couponPaidMinor: couponPaidMinor, paidAtMilliseconds: paidAt)
        let breakdown = EarningEngine.evaluate(
            order: facts, member: member.facts(merchantId: submission.merchantId, localDay: localDay.description), rule: context.rule,
            ruleSource: context.ruleSource, campaigns: campaigns, clock: clock)
        if let refusal = EarningAdmission.admit(points: breakdown.totalPoints, lifetimeEarnedPoints: member.lifetimeEarnedPoints, memberCode: member.memberCode) {
            return .failure(refusal)
        }
        let earned = EarnedOrder(
            submission: submission, member: member, breakdown: breakdown, context: context, clock: clock, localDay: localDay,
            budgetSpend: breakdown.campaignSpend.filter { budgetedCampaignIds.contains($0.campaignId) }, payment: payment, couponUses: couponUses)
        spending.apply(couponUses, payment, memberId: memberId)
        member.debtPoints -= earned.repaidDebtPoints
        member.debts = earned.debtsLeft
        member.lifetimeEarnedPoints += breakdown.totalPoints
        member.earnedPoints[EarningMember.DailyKey(merchantId: submission.merchantId, localDay: earned.localDay), default: 0] += breakdown.totalPoints
        members[memberId] = member
        for spend in earned.budgetSpend {
            guard let position = campaigns.firstIndex(where: { $0.id == spend.campaignId }) else { continue }
            campaigns[position].spentPoints += spend.points
        }
        precondition(member.debtPoints >= 0, "repaid debt never exceeds the debt")
        return .success(earned)
    }
}
