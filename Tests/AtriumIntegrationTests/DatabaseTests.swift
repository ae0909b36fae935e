import AtriumStore
import Logging
import PostgresNIO
import Testing

@Suite("Schema and row-level security in PostgreSQL")
struct DatabaseTests {
    @Test func migrationsAppliedTwiceChangeNothing() async throws {
        let server = try await TestServer.shared.start()
        let migrator = Migrator(client: server.client, logger: server.logger)
        #expect(try await migrator.migrate() == [])
        #expect(try await migrator.migrate() == [])
        var versions: [Int32] = []
        for try await version in try await server.client.query("SELECT version FROM schema_migrations ORDER BY version").decode(Int32.self) { versions.append(version) }
        #expect(versions == Migration.all.map(\.version))
    }

    @Test func aFailingMigrationLeavesTheSchemaAsItWas() async throws {
        let server = try await TestServer.shared.start()
        let broken = Migration(version: 9_001, name: "broken", sql: """
            CREATE TABLE half_done (id integer);
            SELECT no_such_column FROM half_done;
            """)
        await #expect(throws: (any Error).self) { try await Migrator(client: server.client, logger: server.logger).migrate(Migration.all + [broken]) }
        var tables = 0
        for try await n in try await server.client.query("SELECT count(*)::int FROM pg_tables WHERE tablename = 'half_done'").decode(Int.self) { tables = n }
        #expect(tables == 0)
        var recorded = 0
        for try await n in try await server.client.query("SELECT count(*)::int FROM schema_migrations WHERE version = 9001").decode(Int.self) { recorded = n }
        #expect(recorded == 0)
    }

    @Test func rowLevelSecurityHidesOtherMallsEvenWithoutAFilter() async throws {
        let server = try await TestServer.shared.start()
        let a = try await MallFixture.create()
        let b = try await MallFixture.create()
        _ = try await a.merchant()
        _ = try await a.merchant()
        _ = try await b.merchant()
        let db = Database(client: server.client, logger: server.logger)

        // No mall_id filter at all: the policy alone narrows the rows.
        let seenByA = try await db.withMall(a.mall.id) { connection in
            var malls: [Int64] = []
            for try await mall in try await connection.query("SELECT mall_id FROM merchants", logger: server.logger).decode(Int64.self) { malls.append(mall) }
            return malls
        }
        #expect(seenByA == [a.mall.id, a.mall.id])
        let keysSeenByB = try await db.withMall(b.mall.id) { connection in
            var malls: [Int64] = []
            for try await mall in try await connection.query("SELECT mall_id FROM api_keys", logger: server.logger).decode(Int64.self) { malls.append(mall) }
            return malls
        }
        #expect(keysSeenByB == [b.mall.id, b.mall.id])

        // With no mall set, tenant tables show nothing.
        let seenWithoutMall = try await db.withoutMall { connection in
            var count = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM merchants", logger: server.logger).decode(Int.self) { count = n }
            return count
        }
        #expect(seenWithoutMall == 0)

        // Writing a row for another mall is refused by the policy's WITH CHECK.
        await #expect(throws: (any Error).self) {
            try await db.withMall(a.mall.id) { connection in
                try await connection.query("INSERT INTO partners (mall_id, code, name) VALUES (\(b.mall.id), 'sneaky', 'Sneaky')", logger: server.logger)
            }
        }
        // Updating every row touches only the current mall's.
        _ = try await db.withMall(a.mall.id) { connection in
            try await connection.query("UPDATE merchants SET name = 'renamed by A'", logger: server.logger)
        }
        let bNames = try await db.withMall(b.mall.id) { connection in
            var names: [String] = []
            for try await name in try await connection.query("SELECT name FROM merchants", logger: server.logger).decode(String.self) { names.append(name) }
            return names
        }
        #expect(bNames == ["Shop"])
    }

    @Test func theServerRoleCannotBypassRowLevelSecurity() async throws {
        let server = try await TestServer.shared.start()
        var bypass = true
        for try await value in try await server.client.query("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").decode(Bool.self) { bypass = value }
        #expect(bypass == false)
    }
}
