import AtriumProto
import Foundation
import GRPCCore
import Testing

/// Two-phase point holds: a till (the member present, by QR token) or the member app reserves
/// points; the hold ends by release or by its timeout, and no two holders ever hold the same points.
@Suite("Point holds")
struct PointHoldTests {
    /// A mall where points pay up to half a bill from 200 points, in steps of 100, with one member
    /// holding `points` points earned at a till (1 point per ¥1).
    static func memberWithPoints(_ points: Int64) async throws -> (MallFixture, till: Api, app: Api, member: Atrium_V1_Member) {
        let fixture = try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 5_000, pointsPaymentMinimumPoints: 200)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let till = try await fixture.merchant().api
        let member = try await fixture.member()
        if points > 0 { _ = try await till.submit("EARN", member: member, amountMinor: points * 100) }
        return (fixture, till, try await fixture.memberAppKey(), member)
    }

    static func qrToken(_ app: Api, _ member: Atrium_V1_Member) async throws -> String {
        try await app.members.issueQrToken(.with { $0.memberID = member.id }, metadata: app.metadata).qrToken
    }

    static func hold(_ api: Api, qr: String? = nil, memberId: Int64 = 0, points: Int64, seconds: Int32 = 0, requestId: String = Unique.requestId()) async throws -> Atrium_V1_PointHold {
        try await api.members.holdPoints(.with {
            $0.requestID = requestId
            if let qr { $0.qrToken = qr } else { $0.memberID = memberId }
            $0.points = points
            $0.holdSeconds = seconds
        }, metadata: api.metadata).hold
    }

    static func release(_ api: Api, _ holdId: Int64) async throws -> Atrium_V1_PointHold {
        try await api.members.releaseHold(.with { $0.requestID = Unique.requestId(); $0.holdID = holdId }, metadata: api.metadata).hold
    }

    @Test func aHoldReservesPointsUntilReleasedAndAReplayAnswersTheSameHold() async throws {
        let (fixture, till, app, member) = try await Self.memberWithPoints(1_000)
        let qr = try await Self.qrToken(app, member)
        let requestId = Unique.requestId()
        let first = try await Self.hold(till, qr: qr, points: 300, requestId: requestId)
        #expect(first.status == .held && first.points == 300 && first.memberID == member.id && first.merchantID > 0)
        #expect(first.expiresAtUnixMs - first.createdAtUnixMs == 300_000, "five minutes unless asked")
        #expect(try await Self.hold(till, qr: qr, points: 300, requestId: requestId) == first, "a retry answers the same hold")
        await expectStatus(.alreadyExists) { try await Self.hold(till, qr: qr, points: 400, requestId: requestId) }
        #expect(try await fixture.balance(member.id).heldPoints == 300)
        // 700 left: exactly that may be held, one step more may not.
        await expectRefusal("INSUFFICIENT_POINTS") { try await Self.hold(app, memberId: member.id, points: 800) }
        let rest = try await Self.hold(app, memberId: member.id, points: 700)
        #expect(rest.merchantID == 0)
        #expect(try await fixture.balance(member.id).heldPoints == 1_000)
        let released = try await Self.release(till, first.id)
        #expect(released.status == .released && released.points == 300)
        #expect(try await Self.release(till, first.id).status == .released, "releasing twice changes nothing")
        #expect(try await fixture.balance(member.id).heldPoints == 700)
        #expect(try await Self.hold(till, qr: qr, points: 300).status == .held)
        #expect(try await fixture.balance(member.id).availablePoints == 1_000, "holds spend nothing")
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func twentyConcurrentHoldsNeverReserveMoreThanTheMemberHas() async throws {
        let (fixture, _, app, member) = try await Self.memberWithPoints(1_000)
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        return try await retryingAborted { try await Self.hold(app, memberId: member.id, points: 200) }.status == .held ? "held" : "other"
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
        #expect(outcomes.filter { $0 == "held" }.count == 5, "\(outcomes)")
        #expect(outcomes.filter { $0 == "failedPrecondition" }.count == 15, "\(outcomes)")
        #expect(try await fixture.balance(member.id).heldPoints == 1_000)
    }

    @Test func aHoldEndsAtItsTimeoutAndItsPointsComeBack() async throws {
        let (fixture, _, app, member) = try await Self.memberWithPoints(500)
        // Long enough for the refusal below to come well inside it, even under the suite's load.
        let short = try await Self.hold(app, memberId: member.id, points: 500, seconds: 4)
        let started = ContinuousClock.now
        #expect(short.expiresAtUnixMs - short.createdAtUnixMs == 4_000)
        await expectRefusal("INSUFFICIENT_POINTS") { try await Self.hold(app, memberId: member.id, points: 200) }
        try await Task.sleep(until: started + .milliseconds(4_300))
        #expect(try await fixture.balance(member.id).heldPoints == 0)
        #expect(try await Self.release(app, short.id).status == .expired, "the timeout released it")
        #expect(try await Self.hold(app, memberId: member.id, points: 500).status == .held)
    }

    @Test func holdsFollowTheMallsRulesAndTheMembersState() async throws {
        let (fixture, till, app, member) = try await Self.memberWithPoints(1_000)
        let qr = try await Self.qrToken(app, member)
        await expectStatus(.invalidArgument, mentioning: "qr_token") { try await Self.hold(till, memberId: member.id, points: 200) }
        await expectStatus(.invalidArgument, mentioning: "whole steps of 100") { try await Self.hold(till, qr: qr, points: 250) }
        await expectRefusal("POINTS_BELOW_MINIMUM") { try await Self.hold(till, qr: qr, points: 100) }
        await expectStatus(.invalidArgument, mentioning: "hold_seconds") { try await Self.hold(till, qr: qr, points: 200, seconds: 901) }
        await expectStatus(.notFound) { try await Self.hold(till, qr: "Qnot-a-token", points: 200) }
        _ = try await fixture.hq.members.freezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id; $0.reason = "abuse" }, metadata: fixture.hq.metadata)
        await expectRefusal("MEMBER_FROZEN") { try await Self.hold(app, memberId: member.id, points: 200) }
        await expectStatus(.permissionDenied) { try await Self.hold(fixture.hq, memberId: member.id, points: 200) }
        #expect(try await fixture.balance(member.id).heldPoints == 0, "nothing was held")

        let noPoints = try await MallFixture.create()
        let otherApp = try await noPoints.memberAppKey()
        let otherMember = try await noPoints.member()
        await expectRefusal("POINTS_PAYMENT_OFF") { try await Self.hold(otherApp, memberId: otherMember.id, points: 100) }
    }

    @Test func onlyTheHolderReleasesAHoldAndOtherMallsSeeNone() async throws {
        let (fixture, till, app, member) = try await Self.memberWithPoints(1_000)
        let qr = try await Self.qrToken(app, member)
        let hold = try await Self.hold(till, qr: qr, points: 200)
        let otherTill = try await fixture.merchant().api
        await expectStatus(.notFound) { try await Self.release(otherTill, hold.id) }
        await expectStatus(.notFound) { try await Self.release(app, hold.id) }
        let elsewhere = try await Self.memberWithPoints(0)
        await expectStatus(.notFound) { try await Self.release(elsewhere.till, hold.id) }
        await expectStatus(.notFound) { try await Self.hold(elsewhere.app, memberId: member.id, points: 200) }
        #expect(try await fixture.balance(member.id).heldPoints == 200)
        #expect(try await Self.release(till, hold.id).status == .released)
    }
}
