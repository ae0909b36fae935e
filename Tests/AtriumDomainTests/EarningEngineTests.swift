import AtriumDomain
import Testing

@Suite("Earning engine")
struct EarningEngineTests {
    /// 2026-11-21 is a Saturday; noon in Shanghai (UTC+8).
    static let saturdayNoon: Int64 = LocalDate(year: 2026, month: 11, day: 21)!.daysSinceEpoch * 86_400_000 + 4 * 3_600_000
    static let clock = MallClockReading(nowMilliseconds: saturdayNoon, utcOffsetSeconds: 8 * 3600)
    static let perTenYuan = EarningRule(pointsPerStep: 1, stepAmountMinor: 1_000)
    static let perYuan = EarningRule(pointsPerStep: 1, stepAmountMinor: 100)

    static func order(_ amountMinor: Int64, category: MerchantCategory = .foodAndBeverage, merchantId: Int64 = 7, pointsPaid: Int64 = 0, coupon: Int64 = 0, at: Int64 = saturdayNoon) -> OrderFacts {
        OrderFacts(merchantId: merchantId, category: category, amountMinor: amountMinor, pointsPaidMinor: pointsPaid, couponPaidMinor: coupon, paidAtMilliseconds: at)
    }

    static func evaluate(_ order: OrderFacts, tier: MemberFacts = MemberFacts(tierCode: "normal"), rule: EarningRule? = perTenYuan, campaigns: [Campaign] = []) -> EarnBreakdown {
        EarningEngine.evaluate(order: order, member: tier, rule: rule, ruleSource: .category, campaigns: campaigns, clock: clock)
    }

    static func campaign(id: Int64, multiplier: Int32 = 0, bonus: Int64 = 0, weekdays: UInt8 = 0, minimum: Int64 = 0, budget: Int64 = 0, spent: Int64 = 0, stacking: CampaignStacking = .stackable, categories: [MerchantCategory] = [], tiers: [String] = [], sponsor: Int64? = nil) -> Campaign {
        Campaign(
            id: id, name: "c\(id)", startsAtMilliseconds: saturdayNoon - 86_400_000, endsAtMilliseconds: saturdayNoon + 86_400_000, weekdayMask: weekdays,
            categories: categories, tierCodes: tiers, multiplierBasisPoints: multiplier, bonusPoints: bonus, minimumEligibleMinor: minimum,
            budgetPoints: budget, spentPoints: spent, stacking: stacking, sponsorMerchantId: sponsor)
    }

    @Test(arguments: [(12_345, 12), (10_000, 10), (9_999, 9), (999, 0), (1_000, 1), (1, 0)] as [(Int64, Int64)])
    func onePointPerTenYuanFloors(amount: Int64, points: Int64) {
        let result = Self.evaluate(Self.order(amount))
        #expect(result.totalPoints == points)
        #expect(result.lines.first?.funder == .merchant(7))
    }

    @Test func tiersEarn100_150_200OnAHundredYuan() {
        let tiers = [("normal", Int32(10_000), Int64(100)), ("silver", 15_000, 150), ("gold", 20_000, 200)]
        for (code, multiplier, points) in tiers {
            let result = Self.evaluate(Self.order(10_000), tier: MemberFacts(tierCode: code, tierMultiplierBasisPoints: multiplier), rule: Self.perYuan)
            #expect(result.totalPoints == points, "\(code)")
            if multiplier > 10_000 {
                #expect(result.lines[1].funder == .mall)
                #expect(result.lines[1].ruleName == "tier")
            }
        }
    }

    @Test func eligibleAmountExcludesPointsAndCoupons() {
        let result = Self.evaluate(Self.order(10_000, pointsPaid: 2_000, coupon: 3_000), rule: Self.perYuan)
        #expect(result.eligibleMinor == 5_000)
        #expect(result.totalPoints == 50)
        let nothing = Self.evaluate(Self.order(10_000, pointsPaid: 10_000), rule: Self.perYuan)
        #expect(nothing.totalPoints == 0)
        #expect(nothing.lines.first?.rule == .noBase(.nothingEligible))
    }

    @Test func minimumOrderAndMissingRule() {
        let rule = EarningRule(pointsPerStep: 1, stepAmountMinor: 100, minimumOrderMinor: 5_000)
        #expect(Self.evaluate(Self.order(4_999), rule: rule).totalPoints == 0)
        #expect(Self.evaluate(Self.order(5_000), rule: rule).totalPoints == 50)
        let none = Self.evaluate(Self.order(5_000), rule: nil)
        #expect(none.totalPoints == 0)
        #expect(none.lines.first?.rule == .noBase(.noRule))
    }

    @Test func doublePointsDayAppliesOnItsWeekdayOnly() {
        let saturday: UInt8 = 1 << 6, monday: UInt8 = 1 << 1
        let double = Self.campaign(id: 1, multiplier: 20_000, weekdays: saturday, categories: [.foodAndBeverage])
        let mondayOnly = Self.campaign(id: 2, multiplier: 20_000, weekdays: monday)
        let result = Self.evaluate(Self.order(10_000), rule: Self.perYuan, campaigns: [double, mondayOnly])
        #expect(result.totalPoints == 200)
        #expect(result.campaignSpend.map(\.campaignId) == [1])
        let fashion = Self.evaluate(Self.order(10_000, category: .fashion), rule: Self.perYuan, campaigns: [double])
        #expect(fashion.totalPoints == 100)
        // Sunday 00:30 in Shanghai is still Saturday in UTC: the mall's zone decides.
        let sundayEarly = Self.saturdayNoon + 12 * 3_600_000 + 30 * 60_000
        #expect(Self.clock.localDate(atMilliseconds: sundayEarly).weekday == 7)
        #expect(Self.evaluate(Self.order(10_000, at: sundayEarly), rule: Self.perYuan, campaigns: [double]).totalPoints == 100)
    }

    @Test func thresholdBonusAndSponsor() {
        let threshold = Self.campaign(id: 3, bonus: 200, minimum: 50_000, sponsor: 9)
        #expect(Self.evaluate(Self.order(49_999), campaigns: [threshold]).totalPoints == 49)
        let reached = Self.evaluate(Self.order(50_000), campaigns: [threshold])
        #expect(reached.totalPoints == 250)
        #expect(reached.pointsByFunder.map(\.funder) == [.merchant(7), .merchant(9)])
        #expect(reached.pointsByFunder.map(\.points) == [50, 200])
    }

    @Test func budgetLimitsTheAwardAndAnExhaustedCampaignIsSkipped() {
        let limited = Self.evaluate(Self.order(10_000), campaigns: [Self.campaign(id: 4, bonus: 30, budget: 100, spent: 80)])
        #expect(limited.totalPoints == 10 + 20)
        #expect(limited.lines.last?.rule == .campaign(id: 4, name: "c4", budgetLimited: true))
        let exhausted = Self.evaluate(Self.order(10_000), campaigns: [Self.campaign(id: 4, bonus: 30, budget: 100, spent: 100)])
        #expect(exhausted.totalPoints == 10)
    }

    @Test func exclusiveCampaignsNeverCombine() {
        let stackA = Self.campaign(id: 1, bonus: 30)
        let stackB = Self.campaign(id: 2, bonus: 40)
        let exclusiveSmall = Self.campaign(id: 3, bonus: 50, stacking: .exclusive)
        let exclusiveBig = Self.campaign(id: 4, bonus: 90, stacking: .exclusive)
        #expect(Self.evaluate(Self.order(10_000), campaigns: [stackA, stackB, exclusiveSmall]).campaignSpend.map(\.campaignId) == [1, 2])
        #expect(Self.evaluate(Self.order(10_000), campaigns: [stackA, stackB, exclusiveSmall, exclusiveBig]).campaignSpend.map(\.campaignId) == [4])
        let tie = Self.campaign(id: 5, bonus: 70, stacking: .exclusive)
        #expect(Self.evaluate(Self.order(10_000), campaigns: [stackA, stackB, tie]).campaignSpend.map(\.campaignId) == [1, 2])
    }

    @Test func capsTrimBonusesBeforeBase() {
        let rule = EarningRule(pointsPerStep: 1, stepAmountMinor: 100, perOrderCapPoints: 120)
        let gold = MemberFacts(tierCode: "gold", tierMultiplierBasisPoints: 20_000)
        let result = Self.evaluate(Self.order(10_000), tier: gold, rule: rule)
        #expect(result.totalPoints == 120)
        #expect(result.lines.map(\.points) == [100, 20, 0])
        #expect(result.lines.last?.rule == .cap(kind: .perOrder, capPoints: 120, reducedPoints: 80))

        let daily = EarningRule(pointsPerStep: 1, stepAmountMinor: 100, perMemberDailyCapPoints: 150)
        let earlier = MemberFacts(tierCode: "normal", earnedTodayAtMerchantPoints: 120)
        #expect(Self.evaluate(Self.order(10_000), tier: earlier, rule: daily).totalPoints == 30)
        let full = MemberFacts(tierCode: "normal", earnedTodayAtMerchantPoints: 200)
        #expect(Self.evaluate(Self.order(10_000), tier: full, rule: daily).totalPoints == 0)
    }

    @Test func hugeAmountsDoNotOverflow() {
        let rich = EarningRule(pointsPerStep: Limits.pointsPerStepMax, stepAmountMinor: 1)
        let diamond = MemberFacts(tierCode: "diamond", tierMultiplierBasisPoints: Limits.multiplierBasisPointsMax)
        let result = Self.evaluate(Self.order(Limits.orderAmountMinorMax), tier: diamond, rule: rich, campaigns: [Self.campaign(id: 1, multiplier: 100_000)])
        #expect(result.lines[0].points == 1_000_000_000_000_000_000)
        #expect(result.lines.allSatisfy { $0.points >= 0 })
        #expect(result.totalPoints > EarningEngine.orderPointsMax)
    }

    @Test func identicalInputsGiveIdenticalBreakdowns() {
        let campaigns = [Self.campaign(id: 1, multiplier: 15_000), Self.campaign(id: 2, bonus: 5)]
        let a = Self.evaluate(Self.order(77_777), rule: Self.perYuan, campaigns: campaigns)
        let b = Self.evaluate(Self.order(77_777), rule: Self.perYuan, campaigns: campaigns)
        #expect(a == b)
        #expect(a.totalPoints == 777 + 388 + 5)
    }
}
