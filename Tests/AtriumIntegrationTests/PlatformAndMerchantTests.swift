import AtriumProto
import GRPCCore
import Testing

@Suite("Malls, merchants and credentials over gRPC")
struct PlatformAndMerchantTests {
    @Test func createMallIssuesAWorkingHeadquartersKeyAndReplaysWithoutTheSecret() async throws {
        let platform = try await Api.platformOperator()
        let request = Atrium_V1_CreateMallRequest.with {
            $0.requestID = Unique.requestId()
            $0.code = Unique.code("joy")
            $0.settings = .with {
                $0.name = "Joy City"
                $0.currencyCode = "CNY"
                $0.timeZone = "Asia/Shanghai"
            }
        }
        let first = try await platform.platform.createMall(request, metadata: platform.metadata)
        #expect(first.mall.id > 0)
        #expect(first.mall.settings.redeemPoints == 100)
        #expect(first.mall.settings.redeemValueMinor == 100)
        #expect(first.mall.settings.expiryPolicy == .never)
        #expect(first.headquartersKey.secret.hasPrefix("atr_\(first.mall.id)_"))
        #expect(first.headquartersKey.key.role == .headquarters)
        #expect(!first.headquartersKey.secretWithheld)

        let hq = platform.with(key: first.headquartersKey.secret)
        let merchants = try await hq.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: hq.metadata)
        #expect(merchants.merchants.isEmpty)

        let replay = try await platform.platform.createMall(request, metadata: platform.metadata)
        #expect(replay.mall == first.mall)
        #expect(replay.headquartersKey.key.id == first.headquartersKey.key.id)
        #expect(replay.headquartersKey.secret == "")
        #expect(replay.headquartersKey.secretWithheld)

        var changed = request
        changed.settings.name = "Another"
        await expectStatus(.alreadyExists, mentioning: "request_id") { try await platform.platform.createMall(changed, metadata: platform.metadata) }

        var sameCode = request
        sameCode.requestID = Unique.requestId()
        await expectStatus(.alreadyExists, mentioning: request.code) { try await platform.platform.createMall(sameCode, metadata: platform.metadata) }

        let fetched = try await platform.platform.getMall(.with { $0.mallID = first.mall.id }, metadata: platform.metadata)
        #expect(fetched.mall == first.mall)
        await expectStatus(.notFound) { try await platform.platform.getMall(.with { $0.mallID = 9_999_999 }, metadata: platform.metadata) }
    }

    @Test func listMallsPagesWithoutGapsOrRepeats() async throws {
        let platform = try await Api.platformOperator()
        var created: [Int64] = []
        for _ in 0..<3 { created.append(try await MallFixture.create().mall.id) }
        var seen: [Int64] = []
        var token = ""
        repeat {
            let page = try await platform.platform.listMalls(.with { $0.pageSize = 2; $0.pageToken = token }, metadata: platform.metadata)
            #expect(page.malls.count <= 2)
            seen += page.malls.map(\.id)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(Set(seen).count == seen.count)
        #expect(Set(created).isSubset(of: Set(seen)))
        await expectStatus(.invalidArgument, mentioning: "page_size") {
            try await platform.platform.listMalls(.with { $0.pageSize = 501 }, metadata: platform.metadata)
        }
        await expectStatus(.invalidArgument, mentioning: "page_token") {
            try await platform.platform.listMalls(.with { $0.pageToken = "bogus" }, metadata: platform.metadata)
        }
    }

    @Test func merchantLifecycleUpdateSuspendReactivateAndFilters() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let created = try await hq.hq.createMerchant(.with {
            $0.requestID = Unique.requestId()
            $0.code = "ZARA-01"
            $0.name = "Zara"
            $0.category = .fashion
            $0.unitNumber = "L2-015"
            $0.pendingDays = 7
            $0.settlement = .with {
                $0.accountName = "Zara China"
                $0.bankName = "ICBC"
                $0.accountNumber = "6222020200112233"
            }
        }, metadata: hq.metadata).merchant
        #expect(created.status == .active)
        #expect(created.settlement.settlementCycleDays == 30)
        #expect(created.pendingDays == 7)

        let updated = try await hq.hq.updateMerchant(.with {
            $0.requestID = Unique.requestId()
            $0.merchantID = created.id
            $0.name = "Zara Home"
            $0.pendingDays = 3
        }, metadata: hq.metadata).merchant
        #expect(updated.name == "Zara Home")
        #expect(updated.pendingDays == 3)
        #expect(updated.category == .fashion)
        #expect(updated.unitNumber == "L2-015")
        #expect(updated.settlement.bankName == "ICBC")

        let suspended = try await hq.hq.suspendMerchant(.with {
            $0.requestID = Unique.requestId()
            $0.merchantID = created.id
            $0.reason = "unpaid rent"
        }, metadata: hq.metadata).merchant
        #expect(suspended.status == .suspended)
        #expect(suspended.suspensionReason == "unpaid rent")
        await expectStatus(.failedPrecondition) {
            try await hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = created.id; $0.reason = "again" }, metadata: hq.metadata)
        }

        let food = try await fixture.merchant(category: .foodAndBeverage)
        let suspendedOnly = try await hq.hq.listMerchants(.with { $0.status = .suspended }, metadata: hq.metadata).merchants
        #expect(suspendedOnly.map(\.id) == [created.id])
        let foodOnly = try await hq.hq.listMerchants(.with { $0.category = .foodAndBeverage }, metadata: hq.metadata).merchants
        #expect(foodOnly.map(\.id) == [food.merchant.id])

        let reactivated = try await hq.hq.reactivateMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = created.id }, metadata: hq.metadata).merchant
        #expect(reactivated.status == .active)
        #expect(reactivated.suspensionReason == "")

        await expectStatus(.alreadyExists, mentioning: "ZARA-01") {
            try await hq.hq.createMerchant(.with { $0.requestID = Unique.requestId(); $0.code = "ZARA-01"; $0.name = "Copy"; $0.category = .fashion }, metadata: hq.metadata)
        }
        await expectStatus(.notFound) { try await hq.hq.getMerchant(.with { $0.merchantID = 99_999_999 }, metadata: hq.metadata) }
    }

    @Test func concurrentRetriesOfOneCreateMakeOneMerchant() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let request = Atrium_V1_CreateMerchantRequest.with {
            $0.requestID = Unique.requestId()
            $0.code = "UNIQLO"
            $0.name = "Uniqlo"
            $0.category = .fashion
        }
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<20 { group.addTask { try await hq.hq.createMerchant(request, metadata: hq.metadata).merchant.id } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 1)
        let all = try await hq.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: hq.metadata).merchants
        #expect(all.count == 1)
    }

    @Test func apiKeysAreShownOnceListedByPrefixAndRevocable() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let (merchant, pos) = try await fixture.merchant()
        _ = try await pos.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: pos.metadata)

        let keys = try await hq.hq.listApiKeys(Atrium_V1_ListApiKeysRequest(), metadata: hq.metadata).keys
        let posKey = try #require(keys.first { $0.merchantID == merchant.id })
        #expect(posKey.role == .merchant)
        #expect(pos.key.hasPrefix(posKey.prefix))
        #expect(posKey.lastUsedAtUnixMs > 0)
        #expect(keys.count == 2)

        let revoked = try await hq.hq.revokeApiKey(.with { $0.requestID = Unique.requestId(); $0.keyID = posKey.id }, metadata: hq.metadata).key
        #expect(revoked.revokedAtUnixMs > 0)
        await expectStatus(.unauthenticated) { try await pos.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: pos.metadata) }
        let active = try await hq.hq.listApiKeys(Atrium_V1_ListApiKeysRequest(), metadata: hq.metadata).keys
        #expect(active.count == 1)
        let all = try await hq.hq.listApiKeys(.with { $0.includeRevoked = true }, metadata: hq.metadata).keys
        #expect(all.count == 2)

        await expectStatus(.notFound) {
            try await hq.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = 98_765_432; $0.label = "x" }, metadata: hq.metadata)
        }
    }

    @Test func platformCanIssueAnotherHeadquartersKey() async throws {
        let fixture = try await MallFixture.create()
        let platform = try await Api.platformOperator()
        let requestId = Unique.requestId()
        // Platform requests are a reference table on Citus: waits behind other tests' CreateMall (see MallFixture.create).
        let issued = try await retryingAborted(attempts: 40) { try await platform.platform.issueHeadquartersKey(.with {
            $0.requestID = requestId
            $0.mallID = fixture.mall.id
            $0.label = "second"
        }, metadata: platform.metadata).key }
        let second = platform.with(key: issued.secret)
        _ = try await second.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: second.metadata)
        await expectStatus(.notFound) {
            try await platform.platform.issueHeadquartersKey(.with { $0.requestID = Unique.requestId(); $0.mallID = 987_654_321; $0.label = "x" }, metadata: platform.metadata)
        }
    }

    @Test func healthReportsServing() async throws {
        let api = try await Api.platformOperator().with(key: "")
        let status = try await api.health.check(Grpc_Health_V1_HealthCheckRequest(), metadata: [:])
        #expect(status.status == .serving)
        await expectStatus(.notFound) { try await api.health.check(.with { $0.service = "nope" }, metadata: [:]) }
    }
}
