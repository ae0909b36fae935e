import AtriumProto
import Foundation
import GRPCCore
import Testing

/// Coupons issued by HQ to members, listed for them, and checked at a till before a payment.
@Suite("Coupons issued, listed and validated")
struct CouponIssueTests {
    static func issue(_ api: Api, template: Int64, members: [Int64], requestId: String = Unique.requestId()) async throws -> [Atrium_V1_Coupon] {
        try await api.hq.issueCoupons(.with { $0.requestID = requestId; $0.templateID = template; $0.memberIds = members }, metadata: api.metadata).coupons
    }

    static func validate(_ till: Api, _ code: String, basketMinor: Int64) async throws -> Atrium_V1_ValidateCouponResponse {
        try await till.merchant.validateCoupon(.with { $0.code = code; $0.basketMinor = basketMinor }, metadata: till.metadata)
    }

    static func list(_ api: Api, member: Int64, status: Atrium_V1_CouponStatus = .unspecified) async throws -> [Atrium_V1_Coupon] {
        try await api.members.listMemberCoupons(.with { $0.memberID = member; $0.status = status }, metadata: api.metadata).coupons
    }

    @Test func hqIssuesOneCouponToEachMemberAndARetryAnswersTheSame() async throws {
        let fixture = try await MallFixture.create()
        let ann = try await fixture.member(), bob = try await fixture.member()
        let template = try await CouponTemplateIntegrationTests.create(fixture.hq) { $0.perMemberLimit = 2; $0.totalQuantity = 3 }
        let requestId = Unique.requestId()
        let before = EarningTests.nowMilliseconds()
        let coupons = try await Self.issue(fixture.hq, template: template.id, members: [bob.id, ann.id], requestId: requestId)
        #expect(coupons.map(\.memberID) == [bob.id, ann.id] && coupons.allSatisfy { $0.status == .valid && $0.templateID == template.id })
        #expect(coupons.allSatisfy { $0.code.count == 16 && $0.code.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) } })
        #expect(Set(coupons.map(\.code)).count == 2)
        #expect(coupons.allSatisfy { $0.validUntilUnixMs - $0.validFromUnixMs == 30 * ExpiryTests.dayMilliseconds && $0.issuedAtUnixMs >= before })
        #expect(try await Self.issue(fixture.hq, template: template.id, members: [bob.id, ann.id], requestId: requestId) == coupons)
        await expectStatus(.alreadyExists) { try await Self.issue(fixture.hq, template: template.id, members: [ann.id], requestId: requestId) }
        // One left of three: two are refused whole, one is issued; then the quantity is spent.
        await expectRefusal("COUPON_QUANTITY_EXHAUSTED") { try await Self.issue(fixture.hq, template: template.id, members: [ann.id, bob.id]) }
        #expect(try await Self.issue(fixture.hq, template: template.id, members: [ann.id]).count == 1)
        await expectRefusal("COUPON_QUANTITY_EXHAUSTED") { try await Self.issue(fixture.hq, template: template.id, members: [bob.id]) }
        let listed = try await fixture.hq.hq.listCouponTemplates(Atrium_V1_ListCouponTemplatesRequest(), metadata: fixture.hq.metadata).templates
        #expect(listed.first { $0.id == template.id }?.issuedCount == 3)
        #expect(try await Self.list(fixture.hq, member: ann.id).count == 2)
        let app = try await fixture.memberAppKey()
        #expect(try await Self.list(app, member: bob.id).map(\.code) == [coupons[0].code])
    }

    @Test func aTierIsIssuedBatchByBatchPassingOverMembersAtTheLimit() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setTier("normal", rank: 0, multiplierBasisPoints: 10_000)
        try await fixture.setTier("gold", rank: 1, multiplierBasisPoints: 20_000)
        let gold = try await fixture.member(tier: "gold")
        // 1,001 members of the lowest tier: one full batch and one of one.
        for chunk in [1_000, 1] {
            _ = try await fixture.hq.members.importMembers(.with {
                $0.requestID = Unique.requestId()
                $0.members = (0..<chunk).map { _ in .with { $0.phone = Unique.phone() } }
            }, metadata: fixture.hq.metadata)
        }
        let template = try await CouponTemplateIntegrationTests.create(fixture.hq) { _ in }
        func issue(after: Int64) async throws -> Atrium_V1_IssueCouponsResponse {
            try await fixture.hq.hq.issueCoupons(.with {
                $0.requestID = Unique.requestId(); $0.templateID = template.id; $0.tierCode = "normal"; $0.afterMemberID = after
            }, metadata: fixture.hq.metadata)
        }
        let first = try await issue(after: 0)
        #expect(first.coupons.count == 1_000 && first.nextAfterMemberID == first.coupons.last?.memberID)
        let second = try await issue(after: first.nextAfterMemberID)
        #expect(second.coupons.count == 1 && second.nextAfterMemberID == 0)
        #expect(!(first.coupons + second.coupons).contains { $0.memberID == gold.id }, "another tier's member gets none")
        // Everyone now holds the template's one: a second pass issues nothing and refuses nothing.
        let again = try await issue(after: 0)
        #expect(again.coupons.isEmpty && again.nextAfterMemberID == first.nextAfterMemberID)
        await expectStatus(.invalidArgument, mentioning: "tier_code") {
            try await fixture.hq.hq.issueCoupons(.with {
                $0.requestID = Unique.requestId(); $0.templateID = template.id; $0.tierCode = "normal"; $0.memberIds = [gold.id]
            }, metadata: fixture.hq.metadata)
        }
    }

    @Test func aMemberHoldsNoMoreThanTheTemplatesLimitEvenUnderConcurrentIssues() async throws {
        let fixture = try await MallFixture.create()
        let ann = try await fixture.member()
        let template = try await CouponTemplateIntegrationTests.create(fixture.hq) { $0.perMemberLimit = 3 }
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        return try await retryingAborted { try await Self.issue(fixture.hq, template: template.id, members: [ann.id]) }.count == 1 ? "issued" : "other"
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
        #expect(outcomes.filter { $0 == "issued" }.count == 3, "\(outcomes)")
        #expect(outcomes.filter { $0 == "failedPrecondition" }.count == 7, "\(outcomes)")
        #expect(try await Self.list(fixture.hq, member: ann.id).count == 3)
    }

    @Test func aTillSeesTheDiscountOrWhyACouponDoesNotApply() async throws {
        let fixture = try await MallFixture.create()
        let (shop, till) = try await fixture.merchant(category: .fashion)
        let (_, foodTill) = try await fixture.merchant(category: .foodAndBeverage)
        let ann = try await fixture.member()
        let amount = try await CouponTemplateIntegrationTests.create(fixture.hq) { $0.categories = [.fashion] }  // ¥20 off ¥200, mall pays 70 %
        let percent = try await CouponTemplateIntegrationTests.create(fixture.hq) {
            $0.percentOff = .with { $0.basisPoints = 1_500; $0.capMinor = 5_000 }; $0.minimumSpendMinor = 0; $0.merchantIds = [shop.id]
        }
        let gift = try await CouponTemplateIntegrationTests.create(fixture.hq) { $0.freeGift = "tote bag"; $0.minimumSpendMinor = 0 }
        let later = try await CouponTemplateIntegrationTests.create(fixture.hq) {
            $0.validDaysAfterIssue = 0; $0.validFromUnixMs = EarningTests.nowMilliseconds() + 86_400_000; $0.validUntilUnixMs = EarningTests.nowMilliseconds() + 2 * 86_400_000
        }
        let a = try await Self.issue(fixture.hq, template: amount.id, members: [ann.id])[0]
        let p = try await Self.issue(fixture.hq, template: percent.id, members: [ann.id])[0]
        let g = try await Self.issue(fixture.hq, template: gift.id, members: [ann.id])[0]
        let l = try await Self.issue(fixture.hq, template: later.id, members: [ann.id])[0]
        #expect(l.status == .notYetValid)

        // The minimum spend exactly, and one minor unit under it.
        let atMinimum = try await Self.validate(till, a.code, basketMinor: 20_000)
        #expect(atMinimum.applies && atMinimum.discountMinor == 2_000 && atMinimum.mallShareMinor == 1_400 && atMinimum.coupon.id == a.id)
        let under = try await Self.validate(till, a.code, basketMinor: 19_999)
        #expect(!under.applies && under.reason == .couponMinimumSpend && under.discountMinor == 0)
        #expect(try await Self.validate(foodTill, a.code, basketMinor: 50_000).reason == .couponNotForMerchant)
        // 15 % of ¥300 is ¥45; of ¥400 it would be ¥60, capped at ¥50.
        #expect(try await Self.validate(till, p.code, basketMinor: 30_000).discountMinor == 4_500)
        #expect(try await Self.validate(till, p.code, basketMinor: 40_000).discountMinor == 5_000)
        #expect(try await Self.validate(foodTill, p.code, basketMinor: 40_000).reason == .couponNotForMerchant)
        let tote = try await Self.validate(foodTill, g.code.lowercased(), basketMinor: 100)
        #expect(tote.applies && tote.discountMinor == 0 && tote.freeGift == "tote bag")
        #expect(try await Self.validate(till, l.code, basketMinor: 50_000).reason == .couponNotYetValid)
        await expectStatus(.notFound) { try await Self.validate(till, "0000000000000000", basketMinor: 100) }
        await expectStatus(.invalidArgument, mentioning: "code") { try await Self.validate(till, "SHORT", basketMinor: 100) }
        await expectStatus(.invalidArgument, mentioning: "basket_minor") { try await Self.validate(till, a.code, basketMinor: 0) }
        #expect(try await Self.list(fixture.hq, member: ann.id, status: .valid).map(\.id) == [a.id, p.id, g.id])
        #expect(try await Self.list(fixture.hq, member: ann.id, status: .notYetValid).map(\.id) == [l.id])
        #expect(try await Self.list(fixture.hq, member: ann.id, status: .used).isEmpty)
    }

    @Test func couponsStayInsideTheirMallAndTheirRoles() async throws {
        let fixture = try await MallFixture.create()
        let other = try await MallFixture.create()
        let (_, otherTill) = try await other.merchant()
        let (_, till) = try await fixture.merchant()
        let ann = try await fixture.member()
        let stranger = try await other.member()
        let template = try await CouponTemplateIntegrationTests.create(fixture.hq) { _ in }
        let coupon = try await Self.issue(fixture.hq, template: template.id, members: [ann.id])[0]
        await expectStatus(.notFound) { try await Self.validate(otherTill, coupon.code, basketMinor: 50_000) }
        await expectStatus(.notFound) { try await Self.issue(other.hq, template: template.id, members: [stranger.id]) }
        await expectStatus(.notFound) { try await Self.issue(fixture.hq, template: template.id, members: [stranger.id]) }
        #expect(try await Self.list(other.hq, member: ann.id).isEmpty)
        await expectStatus(.permissionDenied) { try await Self.issue(till, template: template.id, members: [ann.id]) }
        await expectStatus(.permissionDenied) { try await Self.list(till, member: ann.id) }
        await expectStatus(.invalidArgument, mentioning: "member_ids") { try await Self.issue(fixture.hq, template: template.id, members: []) }
        await expectStatus(.invalidArgument, mentioning: "member_ids") { try await Self.issue(fixture.hq, template: template.id, members: [ann.id, ann.id]) }
        await expectStatus(.invalidArgument, mentioning: "member_ids") {
            try await Self.issue(fixture.hq, template: template.id, members: Array(1...1_001).map(Int64.init))
        }
        #expect(try await Self.list(fixture.hq, member: ann.id).count == 1, "nothing refused was issued")
    }
}
