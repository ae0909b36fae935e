import AtriumStore
import Logging
import PostgresNIO
import Testing

/// Migration 12 on a database that already holds a refund's debt: under the old rule the funder
/// had it back at refund time, so the mall fronted it, and the member now owes it to the mall.
@Suite("The debt migration on existing data")
struct DebtMigrationTests {
    @Test func anEarlierDebtBecomesOwedToTheMallAndTheLedgerStillAddsUp() async throws {
        try await withScratchDatabase { client, logger in
            let migrator = Migrator(client: client, logger: logger)
            #expect(try await migrator.migrate(Migration.all.filter { $0.version < 12 }) == Array(1...11))
            try await client.withTransaction(logger: logger) { connection in
                try await insertScratchMall(expiryPolicy: 1, expiryParameter: 0, on: connection, logger: logger)
                // Member 1 owes 70 after a refund that gave merchant 5 all of it back; member 2 owes nothing.
                try await connection.query("""
                    INSERT INTO members (mall_id, member_code, phone, tier_code, referral_code, balance_points, debt_points)
                    VALUES (1, 'C1', '13900000001', 'normal', 'R1', -70, 70), (1, 'C2', '13900000002', 'normal', 'R2', 0, 0)
                    """, logger: logger)
                try await connection.query("INSERT INTO journals (mall_id, kind, member_id, member_points, description) VALUES (1, 2, 1, -70, 'refund')", logger: logger)
                try await connection.query("""
                    INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points) VALUES (1, 1, 0, 0, 1, -70), (1, 1, 1, 2, 5, 70)
                    """, logger: logger)
            }
            #expect(try await migrator.migrate() == Migration.all.map(\.version).filter { $0 >= 12 })

            let rows = try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SET LOCAL atrium.mall_id = 1", logger: logger)
                var rows: [String] = []
                for try await (member, kind, owner, points) in try await connection.query(
                    "SELECT member_id, funder_kind, funder_id, points FROM member_debts ORDER BY member_id", logger: logger
                ).decode((Int64, Int16, Int64, Int64).self) { rows.append("debt \(member) \(kind):\(owner) \(points)") }
                for try await (kind, owner, points) in try await connection.query("""
                    SELECT account_kind, account_owner_id, sum(points)::bigint FROM postings GROUP BY 1, 2 ORDER BY 1, 2
                    """, logger: logger).decode((Int16, Int64, Int64).self) { rows.append("account \(kind):\(owner) \(points)") }
                return rows
            }
            // The member's account still says -70; its debt account holds the 70 the mall fronted.
            #expect(rows == ["debt 1 1:0 70", "account 0:1 -70", "account 1:0 -70", "account 2:5 70", "account 4:1 70"])
            let forced = try await client.query("""
                SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname IN ('members', 'journals', 'postings', 'member_debts') AND relkind = 'r'
                """, logger: logger).decode(Bool.self).reduce(into: [Bool]()) { $0.append($1) }
            #expect(forced == [true])
        }
    }
}
