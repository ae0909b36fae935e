import AtriumServer
import AtriumStore
import Logging
import PostgresNIO
import Testing

/// Migration 9 on a database that already holds lots: the sweep must find the members who earned
/// them, though the migration runs as the tables' owner, whom forced row-level security binds.
@Suite("The expiry migration on existing data")
struct ExpiryMigrationTests {
    @Test func theBackfillFindsEveryLiveLotAndLeavesRowLevelSecurityForced() async throws {
        try await withScratchDatabase { client, logger in
        let migrator = Migrator(client: client, logger: logger)
        #expect(try await migrator.migrate(Migration.all.filter { $0.version < 9 }) == Array(1...8))
        let dueAt = try await client.withTransaction(logger: logger) { connection in
            try await insertScratchMall(expiryPolicy: 2, expiryParameter: 30, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO members (mall_id, member_code, phone, tier_code, referral_code)
                VALUES (1, 'C1', '13900000001', 'normal', 'R1'), (1, 'C2', '13900000002', 'normal', 'R2'), (1, 'C3', '13900000003', 'normal', 'R3')
                """, logger: logger)
            // Member 1: two live lots and a spent one; member 2: a lot that never expires; member 3: none.
            try await connection.query("""
                INSERT INTO lots (mall_id, member_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at, available_at, expires_at)
                VALUES (1, 1, 1, 0, 3, 10, 10, now(), now(), '2031-05-01Z'), (1, 1, 1, 0, 3, 10, 10, now(), now(), '2030-03-01Z'),
                       (1, 1, 1, 0, 3, 10, 0, now(), now(), '2029-01-01Z'), (1, 2, 1, 0, 3, 10, 10, now(), now(), NULL)
                """, logger: logger)
            return try await connection.query("SELECT epoch_ms('2030-03-01Z'::timestamptz)", logger: logger).decode(Int64.self).reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(try await migrator.migrate() == Migration.all.map(\.version).filter { $0 >= 9 })

        let due = try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL atrium.mall_id = 1", logger: logger)
            return try await connection.query("SELECT id, epoch_ms(expiry_due_at) FROM members ORDER BY id", logger: logger)
                .decode((Int64, Int64?).self).reduce(into: [[Int64?]]()) { $0.append([$1.0, $1.1]) }
        }
        #expect(due == [[1, dueAt.first], [2, nil], [3, nil]])
        let forced = try await client.query("""
            SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname IN ('members', 'lots') AND relkind = 'r'
            """, logger: logger).decode(Bool.self).reduce(into: [Bool]()) { $0.append($1) }
        #expect(forced == [true])
        }
    }
}
