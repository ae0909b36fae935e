import AtriumStore
import PostgresNIO
import AtriumProto
import GRPCCore
import Testing

@Suite("Members: one identity per mall")
struct MemberTests {
    @Test func registerNormalizesThePhoneAndRefusesADuplicate() async throws {
        let fixture = try await MallFixture.create()
        let member = try await fixture.member(phone: "138 1234 5678")
        #expect(member.phone == "+8613812345678")
        #expect(member.memberCode.count == 10)
        #expect(member.tierCode == "normal")
        #expect(member.name == "张三")
        await expectStatus(.alreadyExists, mentioning: "phone") { try await fixture.member(phone: "+8613812345678") }

        // Another mall has its own identities: the same phone registers there.
        let other = try await MallFixture.create()
        let elsewhere = try await other.member(phone: "13812345678")
        #expect(elsewhere.phone == member.phone)
    }

    /// Tokens do not pile up: issuing one removes the member's expired ones, and only those.
    @Test func issuingAQrTokenRemovesTheMembersExpiredOnes() async throws {
        let fixture = try await MallFixture.create()
        let member = try await fixture.member()
        let other = try await fixture.member()
        let hq = fixture.hq
        let expired = try await hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: hq.metadata).qrToken
        let live = try await hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: hq.metadata).qrToken
        let othersExpired = try await hq.members.issueQrToken(.with { $0.memberID = other.id }, metadata: hq.metadata).qrToken
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let mallId = fixture.mall.id
        func tokens() async throws -> Set<String> {
            try await db.withMall(mallId) { connection in
                try await connection.query("SELECT token FROM member_qr_tokens WHERE mall_id = \(mallId)", logger: server.logger)
                    .decode(String.self).reduce(into: Set<String>()) { $0.insert($1) }
            }
        }
        try await db.withMall(mallId) { connection in
            try await connection.query("""
                UPDATE member_qr_tokens SET expires_at = now() - interval '1 second' WHERE mall_id = \(mallId) AND token = ANY(\([expired, othersExpired]))
                """, logger: server.logger)
        }
        #expect(try await tokens() == [expired, live, othersExpired])
        let fresh = try await hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: hq.metadata).qrToken
        #expect(try await tokens() == [live, fresh, othersExpired])
        let pos = try await fixture.merchant().api
        await expectStatus(.notFound) { try await pos.members.lookupMember(.with { $0.qrToken = expired }, metadata: pos.metadata) }
        #expect(try await pos.members.lookupMember(.with { $0.qrToken = live }, metadata: pos.metadata).member.id == member.id)
    }

    @Test func lookupsByPhoneCodeAndQrTokenAndMaskingForMerchants() async throws {
        let fixture = try await MallFixture.create()
        let member = try await fixture.member(phone: "13912345678")
        let hq = fixture.hq
        let byPhone = try await hq.members.lookupMember(.with { $0.phone = "+8613912345678" }, metadata: hq.metadata).member
        #expect(byPhone.id == member.id)
        let byCode = try await hq.members.lookupMember(.with { $0.memberCode = member.memberCode }, metadata: hq.metadata).member
        #expect(byCode.id == member.id)
        let token = try await hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: hq.metadata)
        #expect(token.qrToken.hasPrefix("Q"))
        let pos = try await fixture.merchant().api
        let scanned = try await pos.members.lookupMember(.with { $0.qrToken = token.qrToken }, metadata: pos.metadata).member
        #expect(scanned.id == member.id)
        #expect(scanned.phone == "+86139****5678")
        #expect(scanned.name == "张*")
        #expect(scanned.birthday == "")
        #expect(scanned.memberCode == member.memberCode)
        await expectStatus(.notFound) { try await pos.members.lookupMember(.with { $0.qrToken = "Qunknown" }, metadata: pos.metadata) }
        // Merchants cannot change profiles.
        await expectStatus(.permissionDenied) {
            try await pos.members.updateMemberProfile(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id; $0.name = "x" }, metadata: pos.metadata)
        }
    }

    @Test func profileUpdatesReferralsAndFreezing() async throws {
        let fixture = try await MallFixture.create()
        let hq = fixture.hq
        let referrer = try await fixture.member()
        let referred = try await hq.members.registerMember(.with {
            $0.requestID = Unique.requestId()
            $0.phone = Unique.phone()
            $0.referralCode = referrer.referralCode
            $0.birthday = "1990-05-17"
        }, metadata: hq.metadata).member
        #expect(referred.referredByMemberID == referrer.id)
        #expect(referred.birthday == "1990-05-17")
        let updated = try await hq.members.updateMemberProfile(.with {
            $0.requestID = Unique.requestId()
            $0.memberID = referred.id
            $0.name = "李四"
            $0.birthday = ""
        }, metadata: hq.metadata).member
        #expect(updated.name == "李四")
        #expect(updated.birthday == "")
        #expect(updated.phone == referred.phone)
        await expectStatus(.alreadyExists) {
            try await hq.members.updateMemberProfile(.with { $0.requestID = Unique.requestId(); $0.memberID = referred.id; $0.phone = referrer.phone }, metadata: hq.metadata)
        }
        let frozen = try await hq.members.freezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = referred.id; $0.reason = "abuse" }, metadata: hq.metadata).member
        #expect(frozen.frozen)
        await expectStatus(.failedPrecondition) { try await hq.members.issueQrToken(.with { $0.memberID = referred.id }, metadata: hq.metadata) }
        let thawed = try await hq.members.unfreezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = referred.id }, metadata: hq.metadata).member
        #expect(!thawed.frozen)
        await expectStatus(.notFound) {
            try await hq.members.setMemberTier(.with { $0.requestID = Unique.requestId(); $0.memberID = referred.id; $0.tierCode = "platinum" }, metadata: hq.metadata)
        }
    }

    @Test func importRegistersManyInOrderAllOrNone() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setTier("normal", rank: 0, multiplierBasisPoints: 10_000)
        try await fixture.setTier("gold", rank: 2, multiplierBasisPoints: 20_000)
        let hq = fixture.hq
        let taken = try await fixture.member(phone: "13700000002")
        func imported(_ phone: String, tier: String = "", name: String = "") -> Atrium_V1_ImportedMember {
            .with { $0.phone = phone; $0.tierCode = tier; $0.name = name; $0.birthday = name.isEmpty ? "" : "1990-05-17" }
        }
        let request = Atrium_V1_ImportMembersRequest.with {
            $0.requestID = Unique.requestId()
            $0.members = [imported("13700000001", name: "李四"), imported("+86 137 0000 0003", tier: "gold"), imported("13700000004")]
        }
        let members = try await hq.members.importMembers(request, metadata: hq.metadata).members
        #expect(members.map(\.phone) == ["+8613700000001", "+8613700000003", "+8613700000004"])
        #expect(members.map(\.tierCode) == ["normal", "gold", "normal"])
        #expect(members.map(\.birthday) == ["1990-05-17", "", ""])
        #expect(Set(members.map(\.memberCode)).count == 3)
        let lookedUp = try await hq.members.lookupMember(.with { $0.phone = "13700000003" }, metadata: hq.metadata).member
        #expect(lookedUp.id == members[1].id)
        // A retry answers the same members and registers nobody twice.
        #expect(try await hq.members.importMembers(request, metadata: hq.metadata).members == members)

        // One phone already registered refuses the call, and none of the others is registered.
        await expectStatus(.alreadyExists, mentioning: "members[1].phone") {
            try await hq.members.importMembers(.with {
                $0.requestID = Unique.requestId()
                $0.members = [imported("13700000005"), imported(taken.phone), imported("13700000006")]
            }, metadata: hq.metadata)
        }
        await expectStatus(.notFound) { try await hq.members.lookupMember(.with { $0.phone = "13700000005" }, metadata: hq.metadata) }
        await expectStatus(.invalidArgument, mentioning: "members[2].phone") {
            try await hq.members.importMembers(.with {
                $0.requestID = Unique.requestId()
                $0.members = [imported("13700000007"), imported("13700000008"), imported("+8613700000007")]
            }, metadata: hq.metadata)
        }
        for (member, field) in [
            (imported("12345"), "members[1].phone"),
            (Atrium_V1_ImportedMember.with { $0.phone = "13700000012"; $0.name = String(repeating: "名", count: 51) }, "members[1].name"),
            (Atrium_V1_ImportedMember.with { $0.phone = "13700000012"; $0.birthday = "1990-13-01" }, "members[1].birthday"),
            (Atrium_V1_ImportedMember.with { $0.phone = "13700000012"; $0.birthday = "2999-01-01" }, "members[1].birthday"),
        ] {
            await expectStatus(.invalidArgument, mentioning: field) {
                try await hq.members.importMembers(.with { $0.requestID = Unique.requestId(); $0.members = [imported("13700000011"), member] }, metadata: hq.metadata)
            }
        }
        await expectStatus(.notFound) { try await hq.members.lookupMember(.with { $0.phone = "13700000011" }, metadata: hq.metadata) }
        await expectStatus(.invalidArgument, mentioning: "members[0].tier_code") {
            try await hq.members.importMembers(.with { $0.requestID = Unique.requestId(); $0.members = [imported("13700000009", tier: "platinum")] }, metadata: hq.metadata)
        }
        await expectStatus(.invalidArgument, mentioning: "members") {
            try await hq.members.importMembers(.with { $0.requestID = Unique.requestId(); $0.members = [] }, metadata: hq.metadata)
        }
        await expectStatus(.invalidArgument, mentioning: "members") {
            try await hq.members.importMembers(.with {
                $0.requestID = Unique.requestId()
                $0.members = (0..<1_001).map { imported("136" + String(format: "%08d", $0)) }
            }, metadata: hq.metadata)
        }
        let pos = try await fixture.merchant().api
        await expectStatus(.permissionDenied) {
            try await pos.members.importMembers(.with { $0.requestID = Unique.requestId(); $0.members = [imported("13700000010")] }, metadata: pos.metadata)
        }
        await expectStatus(.notFound) { try await hq.members.lookupMember(.with { $0.phone = "13700000010" }, metadata: hq.metadata) }
    }
}
