import AtriumProto
import Foundation
import GRPCCore
import Testing

/// Coupons written off inside SubmitOrder: once, by their own member, lowering what earns; given
/// back by the refund that completes a full refund while still valid; cleared at the mall's share.
@Suite("Coupons at checkout")
struct CouponWriteOffTests {
    /// A fashion till (1 point per ¥1), a member with 1,000 points, and a ¥20-off-¥200 template
    /// the mall pays 70 % of.
    struct Counter {
        let shop: CheckoutPointsTests.Shop
        let template: Atrium_V1_CouponTemplate
    }

    static func counter(_ change: (inout Atrium_V1_CouponTemplate) -> Void = { _ in }) async throws -> Counter {
        let shop = try await CheckoutPointsTests.shop(points: 1_000)
        let template = try await CouponTemplateIntegrationTests.create(shop.fixture.hq) { template in
            template.perMemberLimit = 5
            change(&template)
        }
        return Counter(shop: shop, template: template)
    }

    static func coupon(_ counter: Counter, for member: Atrium_V1_Member? = nil) async throws -> Atrium_V1_Coupon {
        try await CouponIssueTests.issue(counter.shop.fixture.hq, template: counter.template.id, members: [(member ?? counter.shop.member).id])[0]
    }

    static func pay(
        _ till: Api, _ number: String, member: Atrium_V1_Member? = nil, qr: String? = nil, amountMinor: Int64, codes: [String], points: Int64 = 0,
        couponPaidMinor: Int64 = 0
    ) async throws -> Atrium_V1_Order {
        try await till.merchant.submitOrder(.with {
            $0.order = .with {
                $0.orderNumber = number
                $0.member = .with { if let qr { $0.qrToken = qr } else if let member { $0.memberCode = member.memberCode } }
                $0.amountMinor = amountMinor
                $0.couponCodes = codes
                $0.pointsToSpend = points
                $0.couponPaidMinor = couponPaidMinor
            }
        }, metadata: till.metadata).order
    }

    static func hold(_ api: Api, qr: String? = nil, memberId: Int64 = 0, code: String, seconds: Int32 = 0) async throws -> Atrium_V1_CouponHold {
        try await api.members.holdCoupon(.with {
            $0.requestID = Unique.requestId()
            if let qr { $0.qrToken = qr } else { $0.memberID = memberId }
            $0.couponCode = code
            $0.holdSeconds = seconds
        }, metadata: api.metadata).hold
    }

    static func release(_ api: Api, _ code: String) async throws -> Atrium_V1_CouponHold {
        try await api.members.releaseCouponHold(.with { $0.requestID = Unique.requestId(); $0.couponCode = code }, metadata: api.metadata).hold
    }

    @Test func aHeldCouponIsTheHoldersUntilReleasedOrTimedOut() async throws {
        let counter = try await Self.counter()
        let shop = counter.shop
        let qr = try await CheckoutPointsTests.qr(shop)
        let coupon = try await Self.coupon(counter)
        let hold = try await Self.hold(shop.foodTill, qr: qr, code: coupon.code)
        #expect(hold.merchantID == shop.food.id && hold.coupon.id == coupon.id && hold.heldUntilUnixMs > EarningTests.nowMilliseconds())
        await expectRefusal("COUPON_HELD") { try await Self.pay(shop.fashionTill, "HC-1", member: shop.member, amountMinor: 25_000, codes: [coupon.code]) }
        await expectRefusal("COUPON_HELD") { try await Self.hold(shop.fashionTill, qr: qr, code: coupon.code) }
        await expectStatus(.notFound) { try await Self.release(shop.fashionTill, coupon.code) }
        await expectStatus(.invalidArgument, mentioning: "qr_token") { try await Self.hold(shop.fashionTill, memberId: shop.member.id, code: coupon.code) }
        #expect(try await Self.pay(shop.foodTill, "HC-2", member: shop.member, amountMinor: 25_000, codes: [coupon.code]).couponPaidMinor == 2_000)
        await expectRefusal("COUPON_USED") { try await Self.hold(shop.foodTill, qr: qr, code: coupon.code) }

        // Released, any till may use it; the member app's hold lets any till use it.
        let second = try await Self.coupon(counter)
        _ = try await Self.hold(shop.foodTill, qr: qr, code: second.code)
        #expect(try await Self.release(shop.foodTill, second.code).heldUntilUnixMs == 0)
        #expect(try await Self.pay(shop.fashionTill, "HC-3", member: shop.member, amountMinor: 25_000, codes: [second.code]).couponPaidMinor == 2_000)
        let third = try await Self.coupon(counter)
        #expect(try await Self.hold(shop.app, memberId: shop.member.id, code: third.code).merchantID == 0)
        #expect(try await Self.pay(shop.fashionTill, "HC-4", member: shop.member, amountMinor: 25_000, codes: [third.code]).couponPaidMinor == 2_000)

        // A hold ends at its timeout: long enough for the refusal to come inside it under load.
        let fourth = try await Self.coupon(counter)
        let started = ContinuousClock.now
        _ = try await Self.hold(shop.foodTill, qr: qr, code: fourth.code, seconds: 10)
        await expectRefusal("COUPON_HELD") { try await Self.pay(shop.fashionTill, "HC-5", member: shop.member, amountMinor: 25_000, codes: [fourth.code]) }
        try await Task.sleep(until: started + .milliseconds(10_300))
        #expect(try await Self.pay(shop.fashionTill, "HC-6", member: shop.member, amountMinor: 25_000, codes: [fourth.code]).couponPaidMinor == 2_000)
        let bob = try await shop.fixture.member()
        let bobs = try await Self.coupon(counter, for: bob)
        await expectStatus(.notFound) { try await Self.hold(shop.foodTill, qr: qr, code: bobs.code) }
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func aCouponTakesItsDiscountOffOnceAndOnlyTheRestEarns() async throws {
        let counter = try await Self.counter()
        let shop = counter.shop
        let coupon = try await Self.coupon(counter)
        let order = try await Self.pay(shop.fashionTill, "K-1", member: shop.member, amountMinor: 25_000, codes: [coupon.code.lowercased()])
        #expect(order.couponPaidMinor == 2_000 && order.eligibleMinor == 23_000 && order.earnedPoints == 230)
        #expect(order.couponsUsed.map(\.couponID) == [coupon.id])
        #expect(order.couponsUsed.map(\.discountMinor) == [2_000] && order.couponsUsed.map(\.mallShareMinor) == [1_400])
        #expect(try await Self.pay(shop.fashionTill, "K-1", member: shop.member, amountMinor: 25_000, codes: [coupon.code.lowercased()]) == order)
        await expectRefusal("COUPON_USED") { try await Self.pay(shop.fashionTill, "K-2", member: shop.member, amountMinor: 25_000, codes: [coupon.code]) }
        #expect(try await CouponIssueTests.list(shop.fixture.hq, member: shop.member.id, status: .used).map(\.id) == [coupon.id])

        // With points too: the coupon first, then points pay a share of what it left.
        let qr = try await CheckoutPointsTests.qr(shop)
        let second = try await Self.coupon(counter)
        let both = try await Self.pay(shop.fashionTill, "K-3", qr: qr, amountMinor: 25_000, codes: [second.code], points: 500)
        #expect(both.couponPaidMinor == 2_000 && both.pointsPaidMinor == 500 && both.eligibleMinor == 22_500 && both.earnedPoints == 225)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 1_000 + 230 - 500 + 225)

        // Under the minimum spend, another member's coupon, a code twice, a declared coupon part.
        let third = try await Self.coupon(counter)
        await expectRefusal("COUPON_MINIMUM_SPEND") { try await Self.pay(shop.fashionTill, "K-4", member: shop.member, amountMinor: 19_999, codes: [third.code]) }
        let bob = try await shop.fixture.member()
        await expectStatus(.notFound) { try await Self.pay(shop.fashionTill, "K-5", member: bob, amountMinor: 25_000, codes: [third.code]) }
        await expectStatus(.invalidArgument, mentioning: "coupon_codes") {
            try await Self.pay(shop.fashionTill, "K-6", member: shop.member, amountMinor: 25_000, codes: [third.code, third.code])
        }
        await expectStatus(.invalidArgument, mentioning: "coupon_paid_minor") {
            try await Self.pay(shop.fashionTill, "K-7", member: shop.member, amountMinor: 25_000, codes: [third.code], couponPaidMinor: 100)
        }
        #expect(try await CouponIssueTests.list(shop.fixture.hq, member: shop.member.id, status: .valid).map(\.id) == [third.id], "no refusal used it")
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func twoTillsTryingOneCouponAtOnceWriteItOffExactlyOnce() async throws {
        let counter = try await Self.counter()
        let shop = counter.shop
        let coupon = try await Self.coupon(counter)
        let second = try await shop.fixture.hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = shop.fashion.id; $0.label = "till 2"
        }, metadata: shop.fixture.hq.metadata)
        let tills = [shop.fashionTill, shop.fashionTill.with(key: second.key.secret)]
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<10 {
                group.addTask {
                    do {
                        let order = try await retryingAborted {
                            try await Self.pay(tills[index % 2], "T-\(index)", member: shop.member, amountMinor: 25_000, codes: [coupon.code])
                        }
                        return order.couponPaidMinor == 2_000 ? "used" : "other"
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
        #expect(outcomes.filter { $0 == "used" }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "failedPrecondition" }.count == 9, "\(outcomes)")
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func theRefundCompletingAFullRefundGivesBackTheCouponAndThePointsExactly() async throws {
        let counter = try await Self.counter()
        let shop = counter.shop
        let qr = try await CheckoutPointsTests.qr(shop)
        let coupon = try await Self.coupon(counter)
        _ = try await Self.pay(shop.foodTill, "F-1", qr: qr, amountMinor: 25_000, codes: [coupon.code], points: 800)  // food earns nothing
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 200)
        let part = try await shop.foodTill.refund("F-1-a", orderNumber: "F-1", amountMinor: 10_000)
        #expect(part.refund.couponsRestored == 0 && part.refund.returnedPoints == 320)
        #expect(try await CouponIssueTests.list(shop.fixture.hq, member: shop.member.id, status: .used).map(\.id) == [coupon.id])
        let rest = try await shop.foodTill.refund("F-1-b", orderNumber: "F-1")
        #expect(rest.refund.couponsRestored == 1 && rest.refund.returnedPoints == 480)
        #expect(try await CouponIssueTests.list(shop.fixture.hq, member: shop.member.id, status: .valid).map(\.id) == [coupon.id])
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 1_000)
        // The coupon pays again, once.
        #expect(try await Self.pay(shop.foodTill, "F-2", member: shop.member, amountMinor: 25_000, codes: [coupon.code]).couponPaidMinor == 2_000)

        let closed = try await SettlementTests.close(shop.fixture, endingAt: try await SettlementTests.now())
        let statements = try await SettlementTests.statements(shop.fixture, period: closed.period.id)
        // Food took the coupon twice (the mall owes it ¥14.00 each time) and gave one back with
        // the refund (¥14.00 back); 800 points paid there and all came back.
        #expect(SettlementTests.summary(statements) == [
            "1:0 net -400 [1 1 1000 1000][4 1 -800 -800][7 2 800 800][8 2 0 -2800][9 1 0 1400]",
            "2:\(shop.fashion.id) net -1000 [1 1 -1000 -1000]",
            "2:\(shop.food.id) net 1400 [4 1 800 800][7 2 -800 -800][8 2 0 2800][9 1 0 -1400]",
        ])
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func aCouponThatExpiredBeforeTheRefundStaysUsed() async throws {
        let shop = try await CheckoutPointsTests.shop(points: 0)
        let started = ContinuousClock.now
        let now = EarningTests.nowMilliseconds()
        let template = try await CouponTemplateIntegrationTests.create(shop.fixture.hq) {
            $0.validDaysAfterIssue = 0; $0.validFromUnixMs = now - 3_600_000; $0.validUntilUnixMs = now + 12_000
        }
        let counter = Counter(shop: shop, template: template)
        let coupon = try await Self.coupon(counter)
        _ = try await Self.pay(counter.shop.foodTill, "X-1", member: counter.shop.member, amountMinor: 25_000, codes: [coupon.code])
        // 12 s: long enough for the issue and the order to come inside it under the suite's load.
        try await Task.sleep(until: started + .milliseconds(12_300))
        let refund = try await counter.shop.foodTill.refund("X-1-r", orderNumber: "X-1")
        #expect(refund.refund.couponsRestored == 0)
        #expect(try await CouponIssueTests.list(counter.shop.fixture.hq, member: counter.shop.member.id, status: .used).map(\.id) == [coupon.id])
        #expect(try await counter.shop.fixture.ledgerViolations() == [])
    }
}
