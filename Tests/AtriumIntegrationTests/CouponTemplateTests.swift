import AtriumProto
import GRPCCore
import Testing

/// HQ's coupon templates over gRPC (issuing and write-off come with spending).
@Suite("Coupon templates over gRPC")
struct CouponTemplateIntegrationTests {
    static func create(_ api: Api, requestId: String = Unique.requestId(), _ change: (inout Atrium_V1_CouponTemplate) -> Void) async throws -> Atrium_V1_CouponTemplate {
        var template = Atrium_V1_CouponTemplate.with {
            $0.name = "¥20 off ¥200"
            $0.amountOffMinor = 2_000
            $0.minimumSpendMinor = 20_000
            $0.validDaysAfterIssue = 30
            $0.mallShareBasisPoints = 7_000
        }
        change(&template)
        return try await api.hq.createCouponTemplate(.with { $0.requestID = requestId; $0.template = template }, metadata: api.metadata).template
    }

    @Test func hqCreatesAndListsTemplatesAndARetryAnswersTheSame() async throws {
        let fixture = try await MallFixture.create()
        let shop = try await fixture.merchant().merchant
        let requestId = Unique.requestId()
        let amount = try await Self.create(fixture.hq, requestId: requestId) { $0.merchantIds = [shop.id]; $0.categories = [.fashion] }
        #expect(amount.id > 0 && amount.amountOffMinor == 2_000 && amount.perMemberLimit == 1 && amount.issuedCount == 0)
        #expect(amount.merchantIds == [shop.id] && amount.categories == [.fashion] && amount.validDaysAfterIssue == 30)
        #expect(try await Self.create(fixture.hq, requestId: requestId) { $0.merchantIds = [shop.id]; $0.categories = [.fashion] } == amount)
        await expectStatus(.alreadyExists) { try await Self.create(fixture.hq, requestId: requestId) { $0.name = "another" } }
        let percent = try await Self.create(fixture.hq) {
            $0.percentOff = .with { $0.basisPoints = 1_500; $0.capMinor = 5_000 }
            $0.validDaysAfterIssue = 0
            $0.validFromUnixMs = 1_800_000_000_000
            $0.validUntilUnixMs = 1_810_000_000_000
            $0.totalQuantity = 500
            $0.perMemberLimit = 2
        }
        #expect(percent.percentOff.basisPoints == 1_500 && percent.percentOff.capMinor == 5_000)
        #expect(percent.validFromUnixMs == 1_800_000_000_000 && percent.validUntilUnixMs == 1_810_000_000_000 && percent.validDaysAfterIssue == 0)
        let gift = try await Self.create(fixture.hq) { $0.freeGift = "tote bag"; $0.mallShareBasisPoints = 10_000 }
        #expect(gift.freeGift == "tote bag")
        let first = try await fixture.hq.hq.listCouponTemplates(.with { $0.pageSize = 2 }, metadata: fixture.hq.metadata)
        #expect(first.templates.map(\.id) == [amount.id, percent.id] && !first.nextPageToken.isEmpty)
        let second = try await fixture.hq.hq.listCouponTemplates(.with { $0.pageSize = 2; $0.pageToken = first.nextPageToken }, metadata: fixture.hq.metadata)
        #expect(second.templates == [gift])
    }

    @Test func badTemplatesAreRefusedNamingTheFieldAndChangeNothing() async throws {
        let fixture = try await MallFixture.create()
        let other = try await MallFixture.create()
        let foreign = try await other.merchant().merchant
        await expectStatus(.invalidArgument, mentioning: "template.benefit") { try await Self.create(fixture.hq) { $0.benefit = nil } }
        await expectStatus(.invalidArgument, mentioning: "template.percent_off_basis_points") {
            try await Self.create(fixture.hq) { $0.percentOff = .with { $0.basisPoints = 10_001 } }
        }
        await expectStatus(.invalidArgument, mentioning: "template.valid_days_after_issue") { try await Self.create(fixture.hq) { $0.validFromUnixMs = 1 } }
        await expectStatus(.invalidArgument, mentioning: "template.valid_until_unix_ms") { try await Self.create(fixture.hq) { $0.validDaysAfterIssue = 0 } }
        await expectStatus(.invalidArgument, mentioning: "template.valid_from_unix_ms") {
            try await Self.create(fixture.hq) { $0.validDaysAfterIssue = 0; $0.validFromUnixMs = Int64.max - 1; $0.validUntilUnixMs = Int64.max }
        }
        await expectStatus(.invalidArgument, mentioning: "template.mall_share_basis_points") { try await Self.create(fixture.hq) { $0.mallShareBasisPoints = -1 } }
        await expectStatus(.notFound, mentioning: "merchant \(foreign.id)") { try await Self.create(fixture.hq) { $0.merchantIds = [foreign.id] } }
        let merchant = try await fixture.merchant().api
        await expectStatus(.permissionDenied) { try await Self.create(merchant) { _ in } }
        await expectStatus(.permissionDenied) { try await Self.create(try await fixture.memberAppKey()) { _ in } }
        #expect(try await fixture.hq.hq.listCouponTemplates(Atrium_V1_ListCouponTemplatesRequest(), metadata: fixture.hq.metadata).templates == [])
    }
}
