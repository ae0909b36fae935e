import AtriumDomain
import Foundation

/// The pure earning function on one core: a gold member, a category rule with caps, and three
/// campaigns (one weekday multiplier, one threshold bonus with a budget, one that does not apply).
enum EvaluateBenchmark {
    static func run(evaluations: Int) -> Report {
        let now: Int64 = 1_795_000_000_000
        let clock = MallClockReading(nowMilliseconds: now, utcOffsetSeconds: 8 * 3600)
        let rule = EarningRule(pointsPerStep: 1, stepAmountMinor: 1_000, perOrderCapPoints: 50_000, perMemberDailyCapPoints: 100_000)
        let member = MemberFacts(tierCode: "gold", tierMultiplierBasisPoints: 20_000, earnedTodayAtMerchantPoints: 120)
        let campaigns = [
            Campaign(id: 1, name: "double", startsAtMilliseconds: now - 86_400_000, endsAtMilliseconds: now + 86_400_000, weekdayMask: 0b1111_1110, categories: [.foodAndBeverage], multiplierBasisPoints: 20_000),
            Campaign(id: 2, name: "threshold", startsAtMilliseconds: now - 86_400_000, endsAtMilliseconds: now + 86_400_000, bonusPoints: 200, minimumEligibleMinor: 50_000, budgetPoints: 1_000_000_000, spentPoints: 10),
            Campaign(id: 3, name: "luxury only", startsAtMilliseconds: now - 86_400_000, endsAtMilliseconds: now + 86_400_000, categories: [.luxury], multiplierBasisPoints: 30_000),
        ]
        var checksum: Int64 = 0
        let started = ContinuousClock.now
        for i in 0..<evaluations {
            let order = OrderFacts(merchantId: 7, category: .foodAndBeverage, amountMinor: 10_000 + Int64(i & 0xFFFF), paidAtMilliseconds: now)
            let breakdown = EarningEngine.evaluate(order: order, member: member, rule: rule, ruleSource: .merchant, campaigns: campaigns, clock: clock)
            checksum &+= breakdown.totalPoints
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        precondition(checksum > 0, "keep the loop from being optimized away")
        return Report(
            scenario: "evaluate", cores: ProcessInfo.processInfo.activeProcessorCount, concurrency: 1, durationSeconds: seconds,
            calls: evaluations, callsPerSecond: Double(evaluations) / seconds, submitOrdersPerSecond: 0, latencyMicroseconds: [:],
            errorsByStatus: [:], serverPeakRSSMegabytes: nil, serverCPUPercent: nil, setupSeconds: 0, ledgerViolations: [],
            evaluationsPerSecond: Double(evaluations) / seconds)
    }
}
