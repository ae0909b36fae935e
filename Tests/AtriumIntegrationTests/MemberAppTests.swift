import AtriumProto
import GRPCCore
import Testing

/// The member app's key (`ROLE_MEMBER_APP`): what the mall's app backend needs to serve its
/// members, and nothing of HQ's or a till's.
@Suite("The member app's key")
struct MemberAppTests {
    @Test func theAppRegistersAMemberAndServesItsProfileBalanceHistoryAndQrToken() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let till = try await fixture.merchant().api
        let app = try await fixture.memberAppKey()
        let requestId = Unique.requestId()
        let register = Atrium_V1_RegisterMemberRequest.with {
            $0.requestID = requestId
            $0.phone = "13912345678"
            $0.name = "李四"
            $0.birthday = "1990-05-01"
        }
        let member = try await app.members.registerMember(register, metadata: app.metadata).member
        #expect(member.phone == "+8613912345678" && member.name == "李四" && member.birthday == "1990-05-01", "the app shows the member its own profile unmasked")
        let replayed = try await app.members.registerMember(register, metadata: app.metadata).member
        #expect(replayed == member, "a retried registration answers the same member")

        let qr = try await app.members.issueQrToken(.with { $0.memberID = member.id }, metadata: app.metadata)
        #expect(qr.qrToken.count >= 16 && qr.expiresAtUnixMs > 0)
        // The till earns for the member the app's QR token names.
        let order = try await till.merchant.submitOrder(.with {
            $0.order = .with {
                $0.orderNumber = "APP-1"
                $0.member = .with { $0.qrToken = qr.qrToken }
                $0.amountMinor = 12_345
            }
        }, metadata: till.metadata).order
        #expect(order.memberID == member.id && order.earnedPoints == 123)

        let balance = try await app.members.getBalance(.with { $0.memberID = member.id }, metadata: app.metadata)
        #expect(balance.availablePoints == 123 && balance.lifetimeEarnedPoints == 123)
        let history = try await app.members.listTransactions(.with { $0.memberID = member.id }, metadata: app.metadata).transactions
        #expect(history.map(\.points) == [123] && history.map(\.orderID) == [order.id])
        let lots = try await app.members.listLots(.with { $0.memberID = member.id }, metadata: app.metadata).lots
        #expect(lots.map(\.remainingPoints) == [123])
        let renamed = try await app.members.updateMemberProfile(.with {
            $0.requestID = Unique.requestId()
            $0.memberID = member.id
            $0.name = "李小四"
        }, metadata: app.metadata).member
        #expect(renamed.name == "李小四" && renamed.phone == member.phone)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func theAppHasNoHeadquartersOrTillPowers() async throws {
        let fixture = try await MallFixture.create()
        let merchant = try await fixture.merchant().merchant
        let member = try await fixture.member()
        let app = try await fixture.memberAppKey()
        let m = app.metadata
        await expectStatus(.permissionDenied) { try await app.hq.createMerchant(.with { $0.requestID = Unique.requestId(); $0.code = "x"; $0.name = "X" }, metadata: m) }
        await expectStatus(.permissionDenied) {
            try await app.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .memberApp; $0.label = "another" }, metadata: m)
        }
        await expectStatus(.permissionDenied) { try await app.hq.checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: m) }
        await expectStatus(.permissionDenied) {
            try await app.members.setMemberTier(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id; $0.tierCode = "gold" }, metadata: m)
        }
        await expectStatus(.permissionDenied) {
            try await app.members.freezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id; $0.reason = "x" }, metadata: m)
        }
        await expectStatus(.permissionDenied) { try await app.members.importMembers(.with { $0.requestID = Unique.requestId() }, metadata: m) }
        await expectStatus(.permissionDenied) {
            try await app.merchant.submitOrder(.with {
                $0.order = .with { $0.orderNumber = "N-1"; $0.member = .with { $0.memberCode = member.memberCode }; $0.amountMinor = 100 }
            }, metadata: m)
        }
        await expectStatus(.permissionDenied) { try await app.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: m) }
        // Nothing changed: the member is as registered, and the mall has its one merchant.
        let after = try await fixture.hq.members.getMember(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).member
        #expect(after == member)
        #expect(try await fixture.hq.hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: fixture.hq.metadata).merchants.map(\.id) == [merchant.id])
    }

    @Test func oneMallsAppReachesNoMemberOfAnother() async throws {
        let a = try await MallFixture.create()
        let b = try await MallFixture.create()
        let memberOfB = try await b.member()
        let appOfA = try await a.memberAppKey()
        let m = appOfA.metadata
        await expectStatus(.notFound) { try await appOfA.members.getMember(.with { $0.memberID = memberOfB.id }, metadata: m) }
        await expectStatus(.notFound) { try await appOfA.members.issueQrToken(.with { $0.memberID = memberOfB.id }, metadata: m) }
        await expectStatus(.notFound) { try await appOfA.members.lookupMember(.with { $0.memberCode = memberOfB.memberCode }, metadata: m) }
        await expectStatus(.notFound) {
            try await appOfA.members.updateMemberProfile(.with { $0.requestID = Unique.requestId(); $0.memberID = memberOfB.id; $0.name = "x" }, metadata: m)
        }
        await expectStatus(.notFound) { try await appOfA.members.getBalance(.with { $0.memberID = memberOfB.id }, metadata: m) }
        #expect(try await appOfA.members.listTransactions(.with { $0.memberID = memberOfB.id }, metadata: m).transactions == [])
        let after = try await b.hq.members.getMember(.with { $0.memberID = memberOfB.id }, metadata: b.hq.metadata).member
        #expect(after == memberOfB)
    }

    @Test func headquartersListsTheAppsKeyWithItsRole() async throws {
        let fixture = try await MallFixture.create()
        _ = try await fixture.memberAppKey()
        let keys = try await fixture.hq.hq.listApiKeys(Atrium_V1_ListApiKeysRequest(), metadata: fixture.hq.metadata).keys
        #expect(keys.filter { $0.role == .memberApp }.map(\.label) == ["mini-program"])
        await expectStatus(.invalidArgument, mentioning: "merchant_id") {
            try await fixture.hq.hq.createApiKey(.with { $0.requestID = Unique.requestId(); $0.role = .memberApp; $0.merchantID = 1; $0.label = "x" }, metadata: fixture.hq.metadata)
        }
    }
}
