import AtriumProto
import AtriumTransport
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

@Suite("Credentials decide the role and the mall")
struct AuthorizationTests {
    enum Outcome: Equatable { case allowed, denied }

    /// One representative call per service; an allowed caller gets OK or NOT_FOUND, never
    /// PERMISSION_DENIED.
    static func call(_ service: String, as api: Api) async throws {
        switch service {
        case "platform": _ = try await api.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: api.metadata)
        case "hq": _ = try await api.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: api.metadata)
        case "members": _ = try await api.members.lookupMember(.with { $0.phone = "+8613900000000" }, metadata: api.metadata)
        default: _ = try await api.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: api.metadata)
        }
    }

    @Test func eachRoleReachesOnlyItsServices() async throws {
        let fixture = try await MallFixture.create()
        let platform = try await Api.platformOperator()
        let merchant = try await fixture.merchant().api
        let partner = try await fixture.partnerKey()
        let app = try await fixture.memberAppKey()
        let matrix: [(String, Api, [String: Outcome])] = [
            ("platform", platform, ["platform": .allowed, "hq": .denied, "members": .denied, "merchant": .denied]),
            ("hq", fixture.hq, ["platform": .denied, "hq": .allowed, "members": .allowed, "merchant": .denied]),
            ("merchant", merchant, ["platform": .denied, "hq": .denied, "members": .allowed, "merchant": .allowed]),
            ("partner", partner, ["platform": .denied, "hq": .denied, "members": .denied, "merchant": .denied]),
            ("member app", app, ["platform": .denied, "hq": .denied, "members": .allowed, "merchant": .denied]),
        ]
        for (role, api, expected) in matrix {
            for (service, outcome) in expected.sorted(by: { $0.key < $1.key }) {
                do {
                    try await Self.call(service, as: api)
                    #expect(outcome == .allowed, "\(role) should not reach \(service)")
                } catch let error as RPCError {
                    switch outcome {
                    case .allowed: #expect(error.code == .notFound, "\(role) on \(service): \(error)")
                    case .denied: #expect(error.code == .permissionDenied, "\(role) on \(service): \(error)")
                    }
                }
            }
        }
    }

    @Test func missingOrUnknownCredentialsAreUnauthenticated() async throws {
        let fixture = try await MallFixture.create()
        let tokens = [
            "", "atr_\(fixture.mall.id)_" + String(repeating: "x", count: 40), "atrp_" + String(repeating: "y", count: 40),
            "garbage", "atr_0_abc", String(repeating: "z", count: 500),
        ]
        for service in ["platform", "hq", "members", "merchant"] {
            for token in tokens {
                await expectStatus(.unauthenticated) { try await Self.call(service, as: fixture.hq.with(key: token)) }
            }
            let basic = fixture.hq
            await expectStatus(.unauthenticated) {
                _ = try await basic.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: ["authorization": "Basic \(basic.key)"])
            }
        }
    }

    @Test func oneMallsKeysCanNeitherReadNorChangeAnother() async throws {
        let a = try await MallFixture.create()
        let b = try await MallFixture.create()
        let bMerchant = try await b.merchant()
        let bMember = try await b.member()
        let aMerchant = try await a.merchant()

        await expectStatus(.notFound) { try await a.hq.hq.getMerchant(.with { $0.merchantID = bMerchant.merchant.id }, metadata: a.hq.metadata) }
        await expectStatus(.notFound) {
            try await a.hq.hq.updateMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = bMerchant.merchant.id; $0.name = "Hijacked" }, metadata: a.hq.metadata)
        }
        await expectStatus(.notFound) {
            try await a.hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = bMerchant.merchant.id; $0.reason = "x" }, metadata: a.hq.metadata)
        }
        await expectStatus(.notFound) {
            try await a.hq.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = bMerchant.merchant.id; $0.label = "steal" }, metadata: a.hq.metadata)
        }
        await expectStatus(.notFound) { try await a.hq.members.getMember(.with { $0.memberID = bMember.id }, metadata: a.hq.metadata) }
        await expectStatus(.notFound) { try await a.hq.members.getBalance(.with { $0.memberID = bMember.id }, metadata: a.hq.metadata) }
        await expectStatus(.notFound) { try await aMerchant.api.submit(Unique.code("o"), member: bMember, amountMinor: 10_000) }

        let untouched = try await b.hq.hq.getMerchant(.with { $0.merchantID = bMerchant.merchant.id }, metadata: b.hq.metadata).merchant
        #expect(untouched.name == "Shop")
        #expect(untouched.status == .active)
        let aList = try await a.hq.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: a.hq.metadata).merchants
        #expect(aList.map(\.id) == [aMerchant.merchant.id])

        // A key whose mall part is rewritten to another mall is simply unknown there.
        let secret = a.hq.key.split(separator: "_")[2]
        let forged = a.hq.with(key: "atr_\(b.mall.id)_\(secret)")
        await expectStatus(.unauthenticated) { try await forged.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: forged.metadata) }
    }

    @Test func headquartersCannotMintPlatformKeysAndMerchantsCannotMintKeys() async throws {
        let fixture = try await MallFixture.create()
        await expectStatus(.permissionDenied) {
            try await fixture.hq.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .platformOperator; $0.label = "x" }, metadata: fixture.hq.metadata)
        }
        let pos = try await fixture.merchant().api
        await expectStatus(.permissionDenied) {
            try await pos.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .headquarters; $0.label = "x" }, metadata: pos.metadata)
        }
    }

    /// OWASP API #1: a merchant reads a member by id only when it registered the member or has an
    /// order of theirs; otherwise NOT_FOUND (as for another mall's member), and the till finds a
    /// member who is present by code, phone or QR token. HQ reads every member.
    @Test func aMerchantReadsByIdOnlyMembersItServed() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (_, first) = try await fixture.merchant(category: .fashion)
        let (_, second) = try await fixture.merchant(category: .fashion)
        let registered = try await first.members.registerMember(.with {
            $0.requestID = Unique.requestId()
            $0.phone = Unique.phone()
            $0.name = "李四"
        }, metadata: first.metadata).member
        let stranger = try await fixture.member()

        _ = try await first.members.getMember(.with { $0.memberID = registered.id }, metadata: first.metadata)
        _ = try await first.members.getBalance(.with { $0.memberID = registered.id }, metadata: first.metadata)
        for (till, member) in [(second, registered), (first, stranger), (second, stranger)] {
            await expectStatus(.notFound) { try await till.members.getMember(.with { $0.memberID = member.id }, metadata: till.metadata) }
            await expectStatus(.notFound) { try await till.members.getBalance(.with { $0.memberID = member.id }, metadata: till.metadata) }
        }
        // Present at the till: found by code, and after an order the merchant may read them by id.
        let found = try await second.members.lookupMember(.with { $0.memberCode = stranger.memberCode }, metadata: second.metadata).member
        #expect(found.id == stranger.id)
        _ = try await second.submit("V-1", member: stranger, amountMinor: 1_000)
        #expect(try await second.members.getMember(.with { $0.memberID = stranger.id }, metadata: second.metadata).member.id == stranger.id)
        #expect(try await second.members.getBalance(.with { $0.memberID = stranger.id }, metadata: second.metadata).availablePoints == 10)
        await expectStatus(.notFound) { try await first.members.getBalance(.with { $0.memberID = stranger.id }, metadata: first.metadata) }
        for member in [registered, stranger] {
            _ = try await fixture.hq.members.getMember(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata)
        }
    }

    /// Key guessing is bounded per client address: after the allowed failures in a minute, even
    /// a valid key from that address is refused with RESOURCE_EXHAUSTED until the minute ends.
    @Test func failedAuthenticationsAreLimitedPerAddress() async throws {
        let server = try await TransportTests.OwnServer.start { $0.authFailuresPerMinuteMax = 3 }
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)) { grpc in
            let good = Api(grpc: grpc, key: TestServer.platformKey)
            _ = try await good.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: good.metadata)
            for attempt in 0..<3 {
                let guess = good.with(key: "atrp_" + String(repeating: "G", count: 39) + "\(attempt)")
                await expectStatus(.unauthenticated) { try await guess.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: guess.metadata) }
            }
            await expectStatus(.resourceExhausted, mentioning: "failed authentications") {
                try await good.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: good.metadata)
            }
            // Health checks need no key and are not held back.
            _ = try await good.health.check(Grpc_Health_V1_HealthCheckRequest())
        }
        await server.group.triggerGracefulShutdown()
        try await server.running.value
    }

    @Test func peersAreCountedByHostNotByConnection() {
        #expect(AuthFailureLimiter.host(of: "ipv4:127.0.0.1:50123") == "ipv4:127.0.0.1")
        #expect(AuthFailureLimiter.host(of: "ipv6:[::1]:50123") == "ipv6:[::1]")
        #expect(AuthFailureLimiter.host(of: "unix:/tmp/socket") == "unix:/tmp/socket")
        #expect(AuthFailureLimiter.host(of: "ipv4:") == "ipv4:")
    }
}
