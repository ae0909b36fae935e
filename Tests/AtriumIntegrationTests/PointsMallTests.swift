import AtriumProto
import Foundation
import GRPCCore
import Testing

/// The points mall over gRPC: HQ's rewards, members redeeming them for points, cancelling before
/// pickup, and the reward's merchant handing them over with the pickup code.
@Suite("The points mall")
struct PointsMallTests {
    static func reward(_ api: Api, merchant: Int64, _ change: (inout Atrium_V1_Reward) -> Void = { _ in }) async throws -> Atrium_V1_Reward {
        var reward = Atrium_V1_Reward.with {
            $0.name = "Two hours of parking"
            $0.kind = .parkingHours
            $0.pointsPrice = 300
            $0.stock = 10
            $0.merchantID = merchant
            $0.costMinor = 800
        }
        change(&reward)
        return try await api.hq.createReward(.with { $0.requestID = Unique.requestId(); $0.reward = reward }, metadata: api.metadata).reward
    }

    static func redeem(_ api: Api, member: Int64, reward: Int64, requestId: String = Unique.requestId()) async throws -> Atrium_V1_Redemption {
        try await api.members.redeemReward(.with { $0.requestID = requestId; $0.memberID = member; $0.rewardID = reward }, metadata: api.metadata).redemption
    }

    static func cancel(_ api: Api, _ id: Int64) async throws -> Atrium_V1_Redemption {
        try await api.members.cancelRedemption(.with { $0.requestID = Unique.requestId(); $0.redemptionID = id }, metadata: api.metadata).redemption
    }

    static func fulfil(_ till: Api, _ code: String) async throws -> Atrium_V1_FulfilRedemptionResponse {
        try await till.merchant.fulfilRedemption(.with { $0.pickupCode = code }, metadata: till.metadata)
    }

    static func offers(_ api: Api, member: Int64) async throws -> [Atrium_V1_RewardOffer] {
        try await api.members.listMemberRewards(.with { $0.memberID = member }, metadata: api.metadata).offers
    }

    @Test func aMemberRedeemsForPointsAndTheMerchantHandsItOverOnce() async throws {
        let shop = try await CheckoutPointsTests.shop(points: 600)
        let reward = try await Self.reward(shop.fixture.hq, merchant: shop.food.id) { $0.perMemberLimit = 2; $0.cashPriceMinor = 500 }
        #expect(reward.id > 0 && reward.stock == 10 && reward.redeemedCount == 0)
        let requestId = Unique.requestId()
        let first = try await Self.redeem(shop.app, member: shop.member.id, reward: reward.id, requestId: requestId)
        #expect(first.status == .awaitingPickup && first.points == 300 && first.cashMinor == 500 && first.pickupCode.count == 16)
        #expect(try await Self.redeem(shop.app, member: shop.member.id, reward: reward.id, requestId: requestId) == first, "a retry redeems nothing more")
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 300)
        // 300 left: exactly the price; then the member's limit of two.
        let second = try await Self.redeem(shop.app, member: shop.member.id, reward: reward.id)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 0)
        await expectRefusal("REWARD_MEMBER_LIMIT") { try await Self.redeem(shop.app, member: shop.member.id, reward: reward.id) }
        let offer = try await Self.offers(shop.app, member: shop.member.id).first { $0.reward.id == reward.id }
        #expect(offer?.canRedeem == false && offer?.reason == .rewardMemberLimit && offer?.reward.stock == 8)

        await expectStatus(.notFound) { try await Self.fulfil(shop.fashionTill, first.pickupCode) }
        let handed = try await Self.fulfil(shop.foodTill, first.pickupCode.lowercased())
        #expect(handed.redemption.status == .fulfilled && !handed.replayed && handed.redemption.endedAtUnixMs >= handed.redemption.createdAtUnixMs)
        #expect(try await Self.fulfil(shop.foodTill, first.pickupCode).replayed)
        await expectRefusal("REDEMPTION_FULFILLED") { try await Self.cancel(shop.app, first.id) }

        // Cancelling before pickup gives the points and the stock back, and frees the limit.
        let cancelled = try await Self.cancel(shop.app, second.id)
        #expect(cancelled.status == .cancelled)
        #expect(try await Self.cancel(shop.app, second.id).status == .cancelled, "cancelling twice changes nothing")
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 300)
        await expectRefusal("REDEMPTION_CANCELLED") { try await Self.fulfil(shop.foodTill, second.pickupCode) }
        let listed = try await shop.fixture.hq.hq.listRewards(Atrium_V1_ListRewardsRequest(), metadata: shop.fixture.hq.metadata).rewards
        #expect(listed.first { $0.id == reward.id }.map { ($0.stock, $0.redeemedCount) } ?? (0, 0) == (9, 1))
        let history = try await shop.app.members.listRedemptions(.with { $0.memberID = shop.member.id }, metadata: shop.app.metadata).redemptions
        #expect(history.map(\.id) == [second.id, first.id] && history.map(\.status) == [.cancelled, .fulfilled])
        #expect(try await Self.redeem(shop.app, member: shop.member.id, reward: reward.id).status == .awaitingPickup)

        // The food merchant handed one over: the mall owes it the agreed ¥8.00.
        let closed = try await SettlementTests.close(shop.fixture, endingAt: try await SettlementTests.now())
        let statements = try await SettlementTests.statements(shop.fixture, period: closed.period.id)
        #expect(SettlementTests.summary(statements).last == "2:\(shop.food.id) net 800 [10 1 0 800]")
        #expect(statements.reduce(0) { $0 + $1.netMinor } == 0)
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func aCouponBundleIssuesItsCouponsAtOnceWithinTheTemplatesLimit() async throws {
        let shop = try await CheckoutPointsTests.shop(points: 1_000)
        let template = try await CouponTemplateIntegrationTests.create(shop.fixture.hq) { $0.perMemberLimit = 3 }
        let bundle = try await Self.reward(shop.fixture.hq, merchant: shop.food.id) {
            $0.kind = .couponBundle; $0.couponTemplateID = template.id; $0.couponCount = 2; $0.costMinor = 0; $0.name = "Two ¥20 coupons"; $0.perMemberLimit = 5
        }
        let redemption = try await Self.redeem(shop.app, member: shop.member.id, reward: bundle.id)
        #expect(redemption.status == .fulfilled && redemption.coupons.count == 2 && redemption.coupons.allSatisfy { $0.status == .valid })
        #expect(try await CouponIssueTests.list(shop.app, member: shop.member.id, status: .valid).map(\.id) == redemption.coupons.map(\.id))
        await expectRefusal("REDEMPTION_FULFILLED") { try await Self.cancel(shop.app, redemption.id) }
        // Two more would pass the template's three: refused, and nothing is paid.
        await expectRefusal("COUPON_MEMBER_LIMIT") { try await Self.redeem(shop.app, member: shop.member.id, reward: bundle.id) }
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 700)
        await expectStatus(.invalidArgument, mentioning: "coupon_template_id") {
            try await Self.reward(shop.fixture.hq, merchant: shop.food.id) { $0.kind = .couponBundle }
        }
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func fiftyConcurrentRedeemersOfFiveNeverOversell() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (merchant, till) = try await fixture.merchant(category: .fashion)
        var members: [Atrium_V1_Member] = []
        for index in 0..<50 {
            let member = try await fixture.member()
            _ = try await till.submit("E-\(index)", member: member, amountMinor: 30_000)
            members.append(member)
        }
        let reward = try await Self.reward(fixture.hq, merchant: merchant.id) { $0.stock = 5 }
        let outcomes = await withTaskGroup(of: String.self) { group in
            for member in members {
                group.addTask {
                    do {
                        return try await retryingAborted { try await Self.redeem(fixture.hq, member: member.id, reward: reward.id) }.status == .awaitingPickup ? "redeemed" : "other"
                    } catch let error as RPCError {
                        return "\(error.code)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0 == "redeemed" }.count == 5, "\(outcomes)")
        #expect(outcomes.filter { $0 == "failedPrecondition" }.count == 45, "\(outcomes)")
        let listed = try await fixture.hq.hq.listRewards(Atrium_V1_ListRewardsRequest(), metadata: fixture.hq.metadata).rewards
        #expect(listed.first?.stock == 0 && listed.first?.redeemedCount == 5)
        var spent = 0
        for member in members where try await fixture.balance(member.id).availablePoints == 0 { spent += 1 }
        #expect(spent == 5, "exactly the five who redeemed paid")
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func rewardsFollowTheirWindowTiersDailyLimitAndTheMembersPoints() async throws {
        let shop = try await CheckoutPointsTests.shop(points: 1_000)
        let hq = shop.fixture.hq
        let now = EarningTests.nowMilliseconds()
        let later = try await Self.reward(hq, merchant: shop.food.id) { $0.availableFromUnixMs = now + 86_400_000 }
        let over = try await Self.reward(hq, merchant: shop.food.id) { $0.availableUntilUnixMs = now - 1; $0.availableFromUnixMs = now - 86_400_000 }
        let gold = try await Self.reward(hq, merchant: shop.food.id) { $0.tierCodes = ["gold"] }
        let daily = try await Self.reward(hq, merchant: shop.food.id) { $0.perMemberLimit = 5; $0.perDayLimit = 1; $0.pointsPrice = 100 }
        let dear = try await Self.reward(hq, merchant: shop.food.id) { $0.pointsPrice = 1_001 }
        let empty = try await Self.reward(hq, merchant: shop.food.id) { $0.stock = 0 }
        await expectRefusal("REWARD_UNAVAILABLE") { try await Self.redeem(shop.app, member: shop.member.id, reward: later.id) }
        await expectRefusal("REWARD_UNAVAILABLE") { try await Self.redeem(shop.app, member: shop.member.id, reward: over.id) }
        await expectRefusal("REWARD_TIER_RESTRICTED") { try await Self.redeem(shop.app, member: shop.member.id, reward: gold.id) }
        await expectRefusal("INSUFFICIENT_POINTS") { try await Self.redeem(shop.app, member: shop.member.id, reward: dear.id) }
        await expectRefusal("REWARD_OUT_OF_STOCK") { try await Self.redeem(shop.app, member: shop.member.id, reward: empty.id) }
        _ = try await Self.redeem(shop.app, member: shop.member.id, reward: daily.id)
        await expectRefusal("REWARD_DAILY_LIMIT") { try await Self.redeem(shop.app, member: shop.member.id, reward: daily.id) }
        let reasons = try await Self.offers(shop.app, member: shop.member.id).map(\.reason)
        #expect(reasons == [.rewardUnavailable, .rewardUnavailable, .rewardTierRestricted, .rewardDailyLimit, .insufficientPoints, .rewardOutOfStock])
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 900, "only the one redemption paid")
        await expectStatus(.invalidArgument, mentioning: "reward.kind") { try await Self.reward(hq, merchant: shop.food.id) { $0.kind = .unspecified } }
        await expectStatus(.invalidArgument, mentioning: "reward.points_price") { try await Self.reward(hq, merchant: shop.food.id) { $0.pointsPrice = 0 } }
        await expectStatus(.notFound) { try await Self.reward(hq, merchant: 999_999_999) }
        await expectStatus(.permissionDenied) { try await Self.redeem(shop.foodTill, member: shop.member.id, reward: daily.id) }
        let other = try await MallFixture.create()
        await expectStatus(.notFound) { try await Self.redeem(other.hq, member: shop.member.id, reward: daily.id) }
        #expect(try await shop.fixture.ledgerViolations() == [])
    }
}
