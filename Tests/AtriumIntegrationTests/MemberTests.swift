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
}
