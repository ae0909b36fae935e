import AtriumProto
import AtriumStore
import Logging
import PostgresNIO
import Testing

/// Refunds of points the member already spent follow the mall's policy. Points payment arrives
/// with a later issue, so the spending here is a balanced SQL journal of its own.
@Suite("Refunds after the points were spent")
struct ShortfallTests {
    /// Spends every live point of the member: lots to zero, a spend journal (member −, mall +).
    static func spendEverything(mallId: Int64, memberId: Int64) async throws {
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let logger = server.logger
        try await db.withMall(mallId) { connection in
            var total: Int64 = 0
            for try await sum in try await connection.query("""
                SELECT coalesce(sum(remaining_points), 0)::bigint FROM lots WHERE mall_id = \(mallId) AND member_id = \(memberId)
                """, logger: logger).decode(Int64.self) { total = sum }
            try await connection.query("UPDATE lots SET remaining_points = 0 WHERE mall_id = \(mallId) AND member_id = \(memberId)", logger: logger)
            try await connection.query("""
                WITH j AS (INSERT INTO journals (mall_id, kind, member_id, member_points, description)
                           VALUES (\(mallId), 4, \(memberId), \(-total), 'test spend') RETURNING id)
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT \(mallId), id, 0, 0, \(memberId), \(-total) FROM j UNION ALL SELECT \(mallId), id, 1, 1, 0, \(total) FROM j
                """, logger: logger)
            try await connection.query("UPDATE members SET balance_points = balance_points - \(total) WHERE mall_id = \(mallId) AND id = \(memberId)", logger: logger)
        }
    }

    @Test func stopAtZeroRecordsTheShortfall() async throws {
        let fixture = try await MallFixture.create(shortfall: .stopAtZero)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        _ = try await pos.submit("SF-1", member: member, amountMinor: 10_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)
        _ = try await pos.submit("SF-2", member: member, amountMinor: 3_000)

        let refund = try await pos.refund("sf", orderNumber: "SF-1").refund
        #expect(refund.clawedBackPoints == 30)
        #expect(refund.shortfallPoints == 70)
        #expect(refund.debtPoints == 0)
        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 0)
        #expect(balance.debtPoints == 0)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func allowDebtCarriesANegativeBalanceRepaidByLaterEarning() async throws {
        let fixture = try await MallFixture.create(shortfall: .allowDebt)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        _ = try await pos.submit("D-1", member: member, amountMinor: 10_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)

        let refund = try await pos.refund("d", orderNumber: "D-1").refund
        #expect(refund.clawedBackPoints == 0)
        #expect(refund.debtPoints == 100)
        var balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == -100)
        #expect(balance.debtPoints == 100)

        _ = try await pos.submit("D-2", member: member, amountMinor: 6_000)
        balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 40)
        #expect(balance.availablePoints == -40)
        _ = try await pos.submit("D-3", member: member, amountMinor: 5_000)
        balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 0)
        #expect(balance.availablePoints == 10)
        #expect(try await fixture.ledgerViolations() == [])
    }
}
