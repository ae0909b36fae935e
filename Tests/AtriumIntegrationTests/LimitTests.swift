import AtriumDomain
import AtriumProto
import Foundation
import GRPCCore
import PostgresNIO
import Testing
@testable import AtriumStore

/// The limits that keep every sum the server takes inside 64 bits: an order past them is refused
/// with a status naming the limit, nothing is recorded, and the server stays up for everyone.
@Suite("Points limits")
struct LimitTests {
    @Test func anOrderMayEarnExactlyTheOrderLimitAndNotOnePointMore() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.luxury, pointsPerStep: 1, stepMinor: 1)
        let (_, till) = try await fixture.merchant(category: .luxury)
        let member = try await fixture.member()

        let atLimit = try await till.submit("MAX-1", member: member, amountMinor: Limits.orderPointsMax)
        #expect(atLimit.order.earnedPoints == Limits.orderPointsMax)
        await expectStatus(.invalidArgument, mentioning: "order.amount_minor") {
            try await till.submit("MAX-2", member: member, amountMinor: Limits.orderPointsMax + 1)
        }
        #expect(try await fixture.balance(member.id).availablePoints == Limits.orderPointsMax)
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// The largest rate and amount the API accepts, many orders for one member at once: those
    /// past the order limit are refused, the rest recorded exactly, and the ledger holds.
    @Test(.timeLimit(.minutes(2))) func theLargestRatesAndAmountsAtOnceNeitherCrashNorRecordHalfway() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.luxury, pointsPerStep: Limits.pointsPerStepMax, stepMinor: 1)
        let (_, greedy) = try await fixture.merchant(category: .luxury)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1)
        let (_, fair) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        let orders = 40
        let codes = await withTaskGroup(of: RPCError.Code?.self) { group in
            for index in 0..<orders {
                group.addTask {
                    do {
                        if index % 2 == 0 {
                            _ = try await greedy.submit("G-\(index)", member: member, amountMinor: Limits.orderAmountMinorMax)
                        } else {
                            _ = try await fair.submit("F-\(index)", member: member, amountMinor: Limits.orderPointsMax)
                        }
                        return nil
                    } catch let error as RPCError {
                        return error.code
                    } catch {
                        return .unknown
                    }
                }
            }
            var codes: [RPCError.Code?] = []
            for await code in group { codes.append(code) }
            return codes
        }
        #expect(codes.filter { $0 == .invalidArgument }.count == orders / 2)
        #expect(codes.filter { $0 == nil }.count == orders / 2)
        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == Int64(orders / 2) * Limits.orderPointsMax)
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// A member may earn up to the lifetime limit exactly; the next point is refused with
    /// FAILED_PRECONDITION naming the limit, and nothing of that order is recorded.
    @Test func aMemberMayEarnUpToTheLifetimeLimitAndNotOnePointMore() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1)
        let (_, till) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        let mallId = fixture.mall.id
        // A member who earned almost everything already (the balance spent long ago).
        let db = Database(client: server.client, logger: server.logger)
        try await db.withMall(mallId) { connection in
            try await connection.query("""
                UPDATE members SET lifetime_earned_points = \(Limits.memberLifetimePointsMax - 1_000) WHERE mall_id = \(mallId) AND id = \(member.id)
                """, logger: server.logger)
        }
        let last = try await till.submit("LIFE-1", member: member, amountMinor: 1_000)
        #expect(last.order.earnedPoints == 1_000)
        await expectRefusal("MEMBER_LIFETIME_POINTS_LIMIT") {
            try await till.submit("LIFE-2", member: member, amountMinor: 1)
        }
        await expectStatus(.notFound) {
            try await till.merchant.getOrder(.with { $0.orderNumber = "LIFE-2" }, metadata: till.metadata)
        }
        #expect(try await fixture.balance(member.id).availablePoints == 1_000)
        #expect(try await fixture.ledgerViolations() == [])
    }
}
