import AtriumProto
import Foundation
import GRPCCore
import Testing

/// Every invalid field gets INVALID_ARGUMENT naming it, and nothing is written: the same request
/// id (and the same codes) then work for a valid request.
@Suite("Bad input is refused field by field")
struct ValidationTests {
    @Test func createMallFields() async throws {
        let platform = try await Api.platformOperator()
        let requestId = Unique.requestId()
        let code = Unique.code("mall")
        let valid = Atrium_V1_CreateMallRequest.with {
            $0.requestID = requestId
            $0.code = code
            $0.settings = .with { $0.name = "Mall"; $0.currencyCode = "CNY"; $0.timeZone = "Asia/Shanghai" }
        }
        let cases: [(String, (inout Atrium_V1_CreateMallRequest) -> Void)] = [
            ("request_id", { $0.requestID = "" }),
            ("request_id", { $0.requestID = String(repeating: "r", count: 65) }),
            ("request_id", { $0.requestID = "has space" }),
            ("code", { $0.code = "" }),
            ("code", { $0.code = "ab" }),
            ("code", { $0.code = "Upper" }),
            ("code", { $0.code = String(repeating: "a", count: 41) }),
            ("settings.name", { $0.settings.name = "" }),
            ("settings.name", { $0.settings.name = String(repeating: "n", count: 101) }),
            ("settings.currency_code", { $0.settings.currencyCode = "XXX" }),
            ("settings.currency_code", { $0.settings.currencyCode = "cny" }),
            ("settings.time_zone", { $0.settings.timeZone = "Mars/Olympus" }),
            ("settings.time_zone", { $0.settings.timeZone = "" }),
            ("settings.redeem_points", { $0.settings.redeemPoints = -1 }),
            ("settings.redeem_value_minor", { $0.settings.redeemValueMinor = 10_000_000 }),
            ("settings.issue_points", { $0.settings.issuePoints = -5 }),
            ("settings.expiry_parameter", { $0.settings.expiryPolicy = .daysAfterEarning; $0.settings.expiryParameter = 0 }),
            ("settings.expiry_parameter", { $0.settings.expiryPolicy = .endOfMonthAfterMonths; $0.settings.expiryParameter = 121 }),
            ("settings.expiry_policy", { $0.settings.expiryPolicy = .UNRECOGNIZED(42) }),
            ("settings.refund_shortfall_policy", { $0.settings.refundShortfallPolicy = .UNRECOGNIZED(9) }),
            ("headquarters_key_label", { $0.headquartersKeyLabel = String(repeating: "l", count: 101) }),
        ]
        for (field, mutate) in cases {
            var request = valid
            mutate(&request)
            await expectStatus(.invalidArgument, mentioning: field) { try await platform.platform.createMall(request, metadata: platform.metadata) }
        }
        let created = try await platform.platform.createMall(valid, metadata: platform.metadata)
        #expect(created.mall.code == code)
        #expect(!created.headquartersKey.secretWithheld)
    }

    @Test func createMerchantFields() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let requestId = Unique.requestId()
        let valid = Atrium_V1_CreateMerchantRequest.with {
            $0.requestID = requestId
            $0.code = "SHOP-1"
            $0.name = "Shop"
            $0.category = .supermarket
        }
        let cases: [(String, (inout Atrium_V1_CreateMerchantRequest) -> Void)] = [
            ("request_id", { $0.requestID = "" }),
            ("code", { $0.code = "" }),
            ("code", { $0.code = "has space" }),
            ("code", { $0.code = String(repeating: "C", count: 41) }),
            ("name", { $0.name = "" }),
            ("name", { $0.name = String(repeating: "n", count: 101) }),
            ("name", { $0.name = "bad\u{0007}bell" }),
            ("category", { $0.category = .unspecified }),
            ("category", { $0.category = .UNRECOGNIZED(99) }),
            ("unit_number", { $0.unitNumber = String(repeating: "u", count: 21) }),
            ("pending_days", { $0.pendingDays = -1 }),
            ("pending_days", { $0.pendingDays = 91 }),
            ("settlement.account_number", { $0.settlement.accountNumber = "12-34" }),
            ("settlement.account_number", { $0.settlement.accountNumber = String(repeating: "1", count: 35) }),
            ("settlement.settlement_cycle_days", { $0.settlement.settlementCycleDays = 91 }),
            ("settlement.account_name", { $0.settlement.accountName = String(repeating: "a", count: 101) }),
        ]
        for (field, mutate) in cases {
            var request = valid
            mutate(&request)
            await expectStatus(.invalidArgument, mentioning: field) { try await hq.hq.createMerchant(request, metadata: hq.metadata) }
        }
        #expect(try await hq.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: hq.metadata).merchants.isEmpty)
        let created = try await hq.hq.createMerchant(valid, metadata: hq.metadata).merchant
        #expect(created.code == "SHOP-1")
    }

    @Test func apiKeyAndPartnerFields() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let merchant = try await fixture.merchant().merchant
        let cases: [(String, Atrium_V1_CreateApiKeyRequest)] = [
            ("role", .with { $0.requestID = Unique.requestId(); $0.label = "x" }),
            ("merchant_id", .with { $0.requestID = Unique.requestId(); $0.role = .merchant; $0.label = "x" }),
            ("partner_id", .with { $0.requestID = Unique.requestId(); $0.role = .partner; $0.label = "x" }),
            ("merchant_id", .with { $0.requestID = Unique.requestId(); $0.role = .headquarters; $0.merchantID = merchant.id; $0.label = "x" }),
            ("label", .with { $0.requestID = Unique.requestId(); $0.role = .headquarters }),
        ]
        for (field, request) in cases {
            await expectStatus(.invalidArgument, mentioning: field) { try await hq.hq.createApiKey(request, metadata: hq.metadata) }
        }
        #expect(try await hq.hq.listApiKeys(Atrium_V1_ListApiKeysRequest(), metadata: hq.metadata).keys.count == 2)
        await expectStatus(.invalidArgument, mentioning: "code") {
            try await hq.hq.createPartner(.with { $0.requestID = Unique.requestId(); $0.code = ""; $0.name = "x" }, metadata: hq.metadata)
        }
        await expectStatus(.invalidArgument, mentioning: "key_id") {
            try await hq.hq.revokeApiKey(.with { $0.requestID = Unique.requestId() }, metadata: hq.metadata)
        }
    }

    @Test func memberFields() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let cases: [(String, (inout Atrium_V1_RegisterMemberRequest) -> Void)] = [
            ("phone", { $0.phone = "" }),
            ("phone", { $0.phone = "12345" }),
            ("phone", { $0.phone = "+86 023 1234 5678" }),
            ("phone", { $0.phone = "138abc45678" }),
            ("phone", { $0.phone = "+1234" }),
            ("name", { $0.name = String(repeating: "名", count: 51) }),
            ("birthday", { $0.birthday = "2020-13-01" }),
            ("birthday", { $0.birthday = "01/02/2000" }),
            ("birthday", { $0.birthday = "2999-01-01" }),
            ("referral_code", { $0.referralCode = "RNOBODY99" }),
        ]
        let phone = Unique.phone()
        for (field, mutate) in cases {
            var request = Atrium_V1_RegisterMemberRequest.with { $0.requestID = Unique.requestId(); $0.phone = phone }
            mutate(&request)
            await expectStatus(.invalidArgument, mentioning: field) { try await hq.members.registerMember(request, metadata: hq.metadata) }
        }
        let member = try await fixture.member(phone: phone)
        #expect(member.phone == "+86" + phone)
    }

    @Test func orderFields() async throws {
        let fixture = try await MallFixture.create()
        let pos = try await fixture.merchant().api
        let member = try await fixture.member()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let valid = Atrium_V1_SubmitOrderRequest.with {
            $0.order = .with {
                $0.orderNumber = "A-1"
                $0.member = .with { $0.memberCode = member.memberCode }
                $0.amountMinor = 10_000
            }
        }
        let line = Atrium_V1_OrderLine.with { $0.sku = "SKU1"; $0.quantity = 1; $0.amountMinor = 10_000 }
        let cases: [(String, (inout Atrium_V1_SubmitOrderRequest) -> Void)] = [
            ("order", { $0.clearOrder() }),
            ("order.order_number", { $0.order.orderNumber = "" }),
            ("order.order_number", { $0.order.orderNumber = String(repeating: "9", count: 65) }),
            ("order.member", { $0.order.clearMember() }),
            ("order.member", { $0.order.member = Atrium_V1_MemberRef() }),
            ("order.member.member_code", { $0.order.member = .with { $0.memberCode = "nope" } }),
            ("order.member.qr_token", { $0.order.member = .with { $0.qrToken = "bad token!" } }),
            ("order.amount_minor", { $0.order.amountMinor = 0 }),
            ("order.amount_minor", { $0.order.amountMinor = -5 }),
            ("order.amount_minor", { $0.order.amountMinor = 1_000_000_000_001 }),
            ("order.points_paid_minor", { $0.order.pointsPaidMinor = -1 }),
            ("order.coupon_paid_minor", { $0.order.pointsPaidMinor = 6_000; $0.order.couponPaidMinor = 5_000 }),
            ("order.store_id", { $0.order.storeID = String(repeating: "s", count: 41) }),
            ("order.terminal_id", { $0.order.terminalID = String(repeating: "t", count: 41) }),
            ("order.lines", { $0.order.lines = [line, line] }),
            ("order.lines", { $0.order.lines = Array(repeating: line, count: 201) }),
            ("order.lines[0].quantity", { $0.order.lines = [.with { $0.sku = "S"; $0.quantity = 0; $0.amountMinor = 10_000 }] }),
            ("order.lines[0].sku", { $0.order.lines = [.with { $0.sku = ""; $0.quantity = 1; $0.amountMinor = 10_000 }] }),
            ("order.paid_at_unix_ms", { $0.order.paidAtUnixMs = now + 3_600_000 }),
            ("order.paid_at_unix_ms", { $0.order.paidAtUnixMs = now - 31 * 86_400_000 }),
        ]
        for (field, mutate) in cases {
            var request = valid
            mutate(&request)
            await expectStatus(.invalidArgument, mentioning: field) { try await pos.merchant.submitOrder(request, metadata: pos.metadata) }
            await expectStatus(.invalidArgument, mentioning: field) {
                try await pos.merchant.quoteOrder(.with { if request.hasOrder { $0.order = request.order } }, metadata: pos.metadata)
            }
        }
        #expect(try await pos.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: pos.metadata).orders.isEmpty)
        let order = try await pos.merchant.submitOrder(valid, metadata: pos.metadata).order
        #expect(order.orderNumber == "A-1")
    }

    @Test func ruleTierAndCampaignFields() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let ruleCases: [(String, Atrium_V1_EarningRule)] = [
            ("rule.points_per_step", .with { $0.pointsPerStep = -1; $0.stepAmountMinor = 100 }),
            ("rule.step_amount_minor", .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 0 }),
            ("rule.minimum_order_minor", .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 100; $0.minimumOrderMinor = -1 }),
            ("rule.per_order_cap_points", .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 100; $0.perOrderCapPoints = -1 }),
            ("rule.per_member_daily_cap_points", .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 100; $0.perMemberDailyCapPoints = -3 }),
        ]
        for (field, rule) in ruleCases {
            await expectStatus(.invalidArgument, mentioning: field) {
                try await hq.hq.setCategoryRule(.with { $0.requestID = Unique.requestId(); $0.category = .fashion; $0.rule = rule }, metadata: hq.metadata)
            }
        }
        await expectStatus(.invalidArgument, mentioning: "category") {
            try await hq.hq.setCategoryRule(.with { $0.requestID = Unique.requestId(); $0.rule = .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 1 } }, metadata: hq.metadata)
        }
        #expect(try await hq.hq.listEarningRules(Atrium_V1_ListEarningRulesRequest(), metadata: hq.metadata).categoryRules.isEmpty)

        let tierCases: [(String, Atrium_V1_Tier)] = [
            ("tier.code", .with { $0.code = "Gold!"; $0.name = "Gold"; $0.multiplierBasisPoints = 20_000 }),
            ("tier.name", .with { $0.code = "gold"; $0.name = ""; $0.multiplierBasisPoints = 20_000 }),
            ("tier.rank", .with { $0.code = "gold"; $0.name = "Gold"; $0.rank = 101; $0.multiplierBasisPoints = 20_000 }),
            ("tier.multiplier_basis_points", .with { $0.code = "gold"; $0.name = "Gold"; $0.multiplierBasisPoints = 9_999 }),
        ]
        for (field, tier) in tierCases {
            await expectStatus(.invalidArgument, mentioning: field) {
                try await hq.hq.setTier(.with { $0.requestID = Unique.requestId(); $0.tier = tier }, metadata: hq.metadata)
            }
        }
        #expect(try await hq.hq.listTiers(Atrium_V1_ListTiersRequest(), metadata: hq.metadata).tiers.isEmpty)

        let start: Int64 = 1_800_000_000_000
        let campaign = Atrium_V1_Campaign.with {
            $0.name = "Double"
            $0.startsAtUnixMs = start
            $0.endsAtUnixMs = start + 86_400_000
            $0.multiplierBasisPoints = 20_000
        }
        let campaignCases: [(String, (inout Atrium_V1_Campaign) -> Void)] = [
            ("campaign.name", { $0.name = "" }),
            ("campaign.ends_at_unix_ms", { $0.endsAtUnixMs = start }),
            ("campaign.starts_at_unix_ms", { $0.startsAtUnixMs = 0 }),
            // Past year 9999 PostgreSQL has no timestamp: refused naming the field, not failed in the database.
            ("campaign.starts_at_unix_ms", { $0.startsAtUnixMs = Int64.max - 1; $0.endsAtUnixMs = Int64.max }),
            ("campaign.weekdays[0]", { $0.weekdays = [8] }),
            ("campaign.dates[0]", { $0.dates = ["2026-02-30"] }),
            ("campaign.multiplier_basis_points", { $0.bonusPoints = 100 }),
            ("campaign.multiplier_basis_points", { $0.multiplierBasisPoints = 0 }),
            ("campaign.multiplier_basis_points", { $0.multiplierBasisPoints = 10_000 }),
            ("campaign.bonus_points", { $0.multiplierBasisPoints = 0; $0.bonusPoints = -1 }),
            ("campaign.budget_points", { $0.budgetPoints = -1 }),
            ("campaign.categories[0]", { $0.categories = [.unspecified] }),
            ("campaign.tier_codes[0]", { $0.tierCodes = ["GOLD"] }),
            ("campaign.merchant_ids[0]", { $0.merchantIds = [0] }),
            ("campaign.stacking", { $0.stacking = .UNRECOGNIZED(7) }),
        ]
        for (field, mutate) in campaignCases {
            var invalid = campaign
            mutate(&invalid)
            await expectStatus(.invalidArgument, mentioning: field) {
                try await hq.hq.createCampaign(.with { $0.requestID = Unique.requestId(); $0.campaign = invalid }, metadata: hq.metadata)
            }
        }
        #expect(try await hq.hq.listCampaigns(Atrium_V1_ListCampaignsRequest(), metadata: hq.metadata).campaigns.isEmpty)
    }
}
