/// Evaluates what an order earns. A pure function of (order, member, rule, campaigns, clock):
/// identical inputs give identical breakdowns. Order of application:
/// 1. base points from the merchant's rule (or its category default) on the eligible amount;
/// 2. the tier multiplier adds (m − 1) × base, funded by the mall;
/// 3. campaigns that cover the order add their award, each capped by its remaining budget;
///    stackable ones add up, an exclusive one never combines (the larger side wins, ties go to
///    the stackable side, then to the lower campaign id);
/// 4. the per-order cap, then the member's daily cap at this merchant, reduce the lines from the
///    last one up, so campaign and tier bonuses give way before base points.
public enum EarningEngine {
    /// No single order may earn more than this; larger results are refused as input errors.
    public static let orderPointsMax = Limits.orderPointsMax

    public static func evaluate(
        order: OrderFacts,
        member: MemberFacts,
        rule: EarningRule?,
        ruleSource: EarnLine.RuleSource,
        campaigns: [Campaign],
        clock: MallClockReading
    ) -> EarnBreakdown {
        let eligibleMinor = order.eligibleMinor
        precondition(eligibleMinor >= 0, "eligible amount is validated before evaluation")
        var lines: [EarnLine] = []
        lines.reserveCapacity(4)

        let basePoints = appendBase(rule: rule, source: ruleSource, order: order, eligibleMinor: eligibleMinor, into: &lines)
        if basePoints > 0 && member.tierMultiplierBasisPoints > 10_000 {
            let tierPoints = Arithmetic.multiplyDivide(basePoints, Int64(member.tierMultiplierBasisPoints - 10_000), 10_000)
            if tierPoints > 0 {
                lines.append(EarnLine(rule: .tier(code: member.tierCode, multiplierBasisPoints: member.tierMultiplierBasisPoints), points: tierPoints, funder: .mall))
            }
        }
        appendCampaigns(campaigns, order: order, member: member, basePoints: basePoints, eligibleMinor: eligibleMinor, clock: clock, into: &lines)

        if let rule {
            if rule.perOrderCapPoints > 0 {
                applyCap(.perOrder, capPoints: rule.perOrderCapPoints, allowedPoints: rule.perOrderCapPoints, to: &lines)
            }
            if rule.perMemberDailyCapPoints > 0 {
                let allowed = max(rule.perMemberDailyCapPoints - member.earnedTodayAtMerchantPoints, 0)
                applyCap(.perMemberDaily, capPoints: rule.perMemberDailyCapPoints, allowedPoints: allowed, to: &lines)
            }
        }
        let breakdown = EarnBreakdown(lines: lines, eligibleMinor: eligibleMinor)
        precondition(breakdown.lines.allSatisfy { $0.points >= 0 }, "no line is negative")
        return breakdown
    }

    private static func appendBase(rule: EarningRule?, source: EarnLine.RuleSource, order: OrderFacts, eligibleMinor: Int64, into lines: inout [EarnLine]) -> Int64 {
        guard let rule else {
            lines.append(EarnLine(rule: .noBase(.noRule), points: 0, funder: nil))
            return 0
        }
        if eligibleMinor == 0 {
            lines.append(EarnLine(rule: .noBase(.nothingEligible), points: 0, funder: nil))
            return 0
        }
        if eligibleMinor < rule.minimumOrderMinor {
            lines.append(EarnLine(rule: .noBase(.belowMinimum(minimumOrderMinor: rule.minimumOrderMinor)), points: 0, funder: nil))
            return 0
        }
        let points = rule.basePoints(eligibleMinor: eligibleMinor)
        lines.append(EarnLine(
            rule: .base(pointsPerStep: rule.pointsPerStep, stepAmountMinor: rule.stepAmountMinor, eligibleMinor: eligibleMinor, source: source),
            points: points, funder: .merchant(order.merchantId)))
        return points
    }

    private static func appendCampaigns(_ campaigns: [Campaign], order: OrderFacts, member: MemberFacts, basePoints: Int64, eligibleMinor: Int64, clock: MallClockReading, into lines: inout [EarnLine]) {
        guard !campaigns.isEmpty else { return }
        let localDate = clock.localDate(atMilliseconds: order.paidAtMilliseconds)
        var stackable: [EarnLine] = []
        var stackableSum: Int64 = 0
        var bestExclusive: EarnLine?
        for campaign in campaigns where campaign.applies(to: order, tierCode: member.tierCode, eligibleMinor: eligibleMinor, localDate: localDate) {
            let award = campaign.multiplierBasisPoints != 0
                ? Arithmetic.multiplyDivide(basePoints, Int64(campaign.multiplierBasisPoints - 10_000), 10_000)
                : campaign.bonusPoints
            let points = min(award, campaign.remainingBudgetPoints)
            guard points > 0 else { continue }
            let line = EarnLine(rule: .campaign(id: campaign.id, name: campaign.name, budgetLimited: points < award), points: points, funder: campaign.funder)
            switch campaign.stacking {
            case .stackable:
                stackable.append(line)
                stackableSum = Arithmetic.addSaturating(stackableSum, points)
            case .exclusive:
                if let best = bestExclusive, !isBetter(line, than: best, campaignOrder: campaigns) { continue }
                bestExclusive = line
            }
        }
        if let exclusive = bestExclusive, exclusive.points > stackableSum {
            lines.append(exclusive)
        } else {
            lines.append(contentsOf: stackable)
        }
    }

    private static func isBetter(_ a: EarnLine, than b: EarnLine, campaignOrder: [Campaign]) -> Bool {
        if a.points != b.points { return a.points > b.points }
        guard case .campaign(let idA, _, _) = a.rule, case .campaign(let idB, _, _) = b.rule else { return false }
        return idA < idB
    }

    /// Lowers the lines, last first, until their sum is at most `allowedPoints`.
    private static func applyCap(_ kind: EarnLine.CapKind, capPoints: Int64, allowedPoints: Int64, to lines: inout [EarnLine]) {
        var total: Int64 = 0
        for line in lines { total = Arithmetic.addSaturating(total, line.points) }
        guard total > allowedPoints else { return }
        var excess = total - allowedPoints
        let reduced = excess
        for index in lines.indices.reversed() where excess > 0 {
            let cut = min(lines[index].points, excess)
            lines[index].points -= cut
            excess -= cut
        }
        lines.append(EarnLine(rule: .cap(kind: kind, capPoints: capPoints, reducedPoints: reduced), points: 0, funder: nil))
    }
}
