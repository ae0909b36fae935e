import AtriumServer
import AtriumStore
import Logging
import PostgresNIO
import Testing

@Suite("Schema and row-level security in PostgreSQL")
struct DatabaseTests {
    @Test func migrationsAppliedTwiceChangeNothing() async throws {
        let server = try await TestServer.shared.start()
        let migrator = Migrator(client: server.ownerClient, logger: server.logger)
        #expect(try await migrator.migrate() == [])
        #expect(try await migrator.migrate() == [])
        var versions: [Int32] = []
        for try await version in try await server.client.query("SELECT version FROM schema_migrations ORDER BY version").decode(Int32.self) { versions.append(version) }
        #expect(versions == Migration.all.map(\.version))
    }

    /// ANALYZE samples no payload column (migration 7), and nothing else lost its statistics.
    @Test func payloadColumnsAreNotAnalyzed() async throws {
        let server = try await TestServer.shared.start()
        var unanalyzed: [String] = []
        let sql: PostgresQuery = """
            SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND a.attstattarget = 0
            ORDER BY 1
            """
        for try await column in try await server.client.query(sql).decode(String.self) { unanalyzed.append(column) }
        #expect(unanalyzed == [
            "idempotency_records.request_hash", "idempotency_records.response", "journals.description", "journals.lines",
            "orders.breakdown", "orders.funding", "orders.lines", "orders.request_hash",
            "platform_requests.request_hash", "platform_requests.response", "refunds.request_hash",
        ])
    }

    /// The instant helpers are inlined into the statements that call them (migration 8), and
    /// they stay exact to the millisecond whatever the session's time zone.
    @Test func instantHelpersAreInlinedAndExact() async throws {
        let server = try await TestServer.shared.start()
        var plan: [String] = []
        let explain: PostgresQuery = "EXPLAIN VERBOSE SELECT epoch_ms(from_epoch_ms(x)) FROM generate_series(1::bigint, 2::bigint) x"
        for try await line in try await server.client.query(explain).decode(String.self) { plan.append(line) }
        #expect(plan.count > 1)
        #expect(!plan.contains { $0.contains("epoch_ms(") }, "still called as functions: \(plan)")

        let millisecondsValues: [Int64] = [0, 1, -1, 1_700_000_000_123, 4_102_444_799_999]
        let roundTrips = try await server.client.withConnection { connection in
            _ = try await connection.query("SET TIME ZONE 'Asia/Kathmandu'", logger: server.logger)
            var values: [Int64] = []
            let query: PostgresQuery = "SELECT epoch_ms(from_epoch_ms(x)) FROM unnest(\(millisecondsValues)::bigint[]) WITH ORDINALITY AS t(x, n) ORDER BY n"
            for try await value in try await connection.query(query, logger: server.logger).decode(Int64.self) { values.append(value) }
            _ = try await connection.query("RESET TIME ZONE", logger: server.logger)
            return values
        }
        #expect(roundTrips == millisecondsValues)
    }

    @Test func aFailingMigrationLeavesTheSchemaAsItWas() async throws {
        let server = try await TestServer.shared.start()
        let broken = Migration(version: 9_001, name: "broken", sql: """
            CREATE TABLE half_done (id integer);
            SELECT no_such_column FROM half_done;
            """)
        await #expect(throws: (any Error).self) { try await Migrator(client: server.ownerClient, logger: server.logger).migrate(Migration.all + [broken]) }
        var tables = 0
        for try await n in try await server.client.query("SELECT count(*)::int FROM pg_tables WHERE tablename = 'half_done'").decode(Int.self) { tables = n }
        #expect(tables == 0)
        var recorded = 0
        for try await n in try await server.client.query("SELECT count(*)::int FROM schema_migrations WHERE version = 9001").decode(Int.self) { recorded = n }
        #expect(recorded == 0)
    }

    @Test func rowLevelSecurityHidesOtherMallsEvenWithoutAFilter() async throws {
        let server = try await TestServer.shared.start()
        let (a, b) = try await MallFixture.twoMallsWithMerchants()
        let db = Database(client: server.client, logger: server.logger)

        // No mall_id filter at all: the policy alone narrows the rows.
        let seenByA = try await db.withMall(a.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            var malls: [Int64] = []
            for try await mall in try await connection.query("SELECT mall_id FROM merchants", logger: server.logger).decode(Int64.self) { malls.append(mall) }
            return malls
        }
        #expect(seenByA == [a.mall.id, a.mall.id])
        let keysSeenByB = try await db.withMall(b.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            var malls: [Int64] = []
            for try await mall in try await connection.query("SELECT mall_id FROM api_keys", logger: server.logger).decode(Int64.self) { malls.append(mall) }
            return malls
        }
        #expect(keysSeenByB == [b.mall.id, b.mall.id])

        // With no mall set, tenant tables show nothing.
        let seenWithoutMall = try await db.withoutMall { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            var count = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM merchants", logger: server.logger).decode(Int.self) { count = n }
            return count
        }
        #expect(seenWithoutMall == 0)

        // Writing a row for another mall is refused by the policy's WITH CHECK.
        await #expect(throws: (any Error).self) {
            try await db.withMall(a.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
                try await connection.query("INSERT INTO partners (mall_id, code, name) VALUES (\(b.mall.id), 'sneaky', 'Sneaky')", logger: server.logger)
            }
        }
        // Updating every row touches only the current mall's.
        _ = try await db.withMall(a.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            try await connection.query("UPDATE merchants SET name = 'renamed by A'", logger: server.logger)
        }
        let bNames = try await db.withMall(b.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            var names: [String] = []
            for try await name in try await connection.query("SELECT name FROM merchants", logger: server.logger).decode(String.self) { names.append(name) }
            return names
        }
        #expect(bNames == ["Shop"])
    }

    /// What each kind of transaction runs under: its mall, planning and time limits last exactly
    /// as long as the transaction, so the next lease of the same connection starts clean.
    @Test func eachTransactionSetsItsMallPlanningAndLimitsForItselfOnly() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let db = Database(client: server.client, logger: server.logger)
        let settings: PostgresQuery = """
            SELECT current_setting('atrium.mall_id', true), current_setting('plan_cache_mode'), current_setting('lock_timeout'),
                current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')
            """
        @Sendable func read(_ connection: PostgresConnection) async throws -> [String] {
            var seen: [String] = []
            for try await (mall, planning, lock, statement, idle) in try await connection.query(settings, logger: server.logger).decode((String?, String, String, String, String).self) {
                seen = [mall ?? "", planning, lock, statement, idle]
            }
            return seen
        }
        let mall = String(fixture.mall.id)
        // Citus cannot distribute generic plans of statements that join tables (`Database.sessionParameters`).
        let cached = TestServer.citus ? "auto" : "force_generic_plan"
        #expect(try await db.withMall(fixture.mall.id, limits: .till, planning: .cached, read) == [mall, cached, "500ms", "5s", "30s"])
        #expect(try await db.withMall(fixture.mall.id, read) == [mall, "auto", "2s", "10s", "30s"])
        #expect(try await db.withMall(fixture.mall.id, limits: .job, read) == [mall, "auto", "5s", "5min", "30s"])
        #expect(try await db.withoutMall(read) == ["", "auto", "2s", "10s", "30s"])
        // Outside any transaction, on pooled connections: the session's defaults.
        try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { try await server.client.withConnection(read) } }
            for try await seen in group { #expect(seen == ["", cached, "500ms", "5s", "30s"]) }
        }
    }

    /// The checker is what proves the ledger after every scenario, so it must see each kind of
    /// damage: a cached balance off its postings and lots, a journal that does not balance, and
    /// rows naming a member or journal that does not exist (no foreign key refuses those).
    @Test func theLedgerCheckReportsEachKindOfDamage() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let (shop, pos) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        _ = try await pos.submit("C-1", member: member, amountMinor: 12_000)
        let template = try await CouponTemplateIntegrationTests.create(fixture.hq) { _ in }
        let coupon = try await CouponIssueTests.issue(fixture.hq, template: template.id, members: [member.id])[0]
        let reward = try await PointsMallTests.reward(fixture.hq, merchant: shop.id)
        #expect(try await fixture.ledgerViolations() == [])

        let db = Database(client: server.client, logger: server.logger)
        let mallId = fixture.mall.id
        let journalId = try await db.withMall(mallId) { connection in
            var id: Int64 = 0
            for try await value in try await connection.query("SELECT id FROM journals WHERE mall_id = \(mallId)", logger: server.logger).decode(Int64.self) { id = value }
            try await connection.query("UPDATE members SET balance_points = balance_points + 5 WHERE mall_id = \(mallId) AND id = \(member.id)", logger: server.logger)
            try await connection.query("""
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points) VALUES (\(mallId), \(id), 9, 1, \(mallId), 3)
                """, logger: server.logger)
            try await connection.query("""
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points) VALUES (\(mallId), \(Int64.max), 0, 1, \(mallId), 1)
                """, logger: server.logger)
            try await connection.query("""
                INSERT INTO lots (mall_id, member_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at, available_at)
                VALUES (\(mallId), \(Int64.max), 1, \(mallId), 1, 1, 1, now(), now())
                """, logger: server.logger)
            return id
        }
        let (lotId, orderId) = try await db.withMall(mallId) { connection in
            var id: Int64 = 0, orderId: Int64 = 0
            for try await value in try await connection.query("SELECT id FROM lots WHERE mall_id = \(mallId) AND member_id = \(Int64.max)", logger: server.logger).decode(Int64.self) { id = value }
            for try await value in try await connection.query("SELECT id FROM orders WHERE mall_id = \(mallId)", logger: server.logger).decode(Int64.self) { orderId = value }
            // A payment with points the order never made, from another member's lot.
            try await connection.query(
                "INSERT INTO spend_draws (mall_id, order_id, lot_id, funder_kind, funder_id, points) VALUES (\(mallId), \(orderId), \(id), 1, 0, 7)",
                logger: server.logger)
            // A redemption no lot paid, and a coupon used by an order that does not exist.
            try await connection.query("""
                INSERT INTO redemptions (mall_id, reward_id, member_id, points, cash_minor, pickup_code, local_day, created_at)
                VALUES (\(mallId), \(reward.id), \(member.id), 5, 0, '0000000000000000', current_date, now())
                """, logger: server.logger)
            try await connection.query(
                "UPDATE coupons SET used = true, order_id = \(Int64.max) WHERE mall_id = \(mallId) AND id = \(coupon.id)", logger: server.logger)
            return (id, orderId)
        }
        let redemptionId = try await db.withMall(mallId) { connection in
            var id: Int64 = 0
            for try await value in try await connection.query("SELECT id FROM redemptions WHERE mall_id = \(mallId)", logger: server.logger).decode(Int64.self) { id = value }
            return id
        }
        #expect(try await fixture.ledgerViolations().sorted() == [
            "journal \(journalId) does not balance: postings sum to 3",
            "journal \(Int64.max) does not balance: postings sum to 1",
            "lot \(lotId) names a row that does not exist",
            "order \(orderId) spent 0 points but its draws took 7",
            "order \(orderId) drew from 1 lots that are not its member's",
            "coupon \(coupon.id) is used by an order that does not exist",
            "redemption \(redemptionId)'s draws are 5 points short of its price",
            "member \(member.id): cached balance 17 but lots 12 minus debt 0 is 12",
            "member \(member.id): cached balance 17 but postings sum to 12",
            "posting of journal \(Int64.max) names a row that does not exist",
        ].sorted())
    }

    @Test func theServerRoleCannotBypassRowLevelSecurity() async throws {
        let server = try await TestServer.shared.start()
        var bypass = true
        for try await value in try await server.client.query("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").decode(Bool.self) { bypass = value }
        #expect(bypass == false)
    }

    /// Least privilege: as the server's own role, history cannot be rewritten and row-level
    /// security cannot be turned off, while the owner (who ran the migrations) still could.
    @Test func theServerRoleCanNeitherRewriteHistoryNorAlterTables() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (_, till) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        _ = try await till.submit("H-1", member: member, amountMinor: 1_000)
        _ = try await till.refund("h-1", orderNumber: "H-1", amountMinor: 500)
        let mallId = fixture.mall.id
        let db = Database(client: server.client, logger: server.logger)
        let refused = [
            "UPDATE journals SET member_points = member_points + 1 WHERE mall_id = \(mallId)",
            "DELETE FROM journals WHERE mall_id = \(mallId)",
            "UPDATE postings SET points = points + 1 WHERE mall_id = \(mallId)",
            "DELETE FROM postings WHERE mall_id = \(mallId)",
            "UPDATE refunds SET amount_minor = 1 WHERE mall_id = \(mallId)",
            "DELETE FROM orders WHERE mall_id = \(mallId)",
            "TRUNCATE lots",
            "ALTER TABLE journals DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE members NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY mall_isolation ON members",
            "CREATE TABLE sneaky (id integer)",
        ]
        for statement in refused {
            do {
                _ = try await db.withMall(mallId) { connection in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: server.logger) }
                Issue.record("the server's role was allowed: \(statement)")
            } catch let error as PSQLError {
                let state = error.serverInfo?[.sqlState]
                #expect(state == "42501", "\(statement): \(String(reflecting: error))")
            }
        }
        #expect(try await fixture.ledgerViolations() == [])
        // The owner is the one who can.
        var owned = 0
        for try await count in try await server.ownerClient.query("SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user").decode(Int.self) {
            owned = count
        }
        #expect(owned == RuntimePrivileges.tableCount)
    }

    /// The server refuses to serve as the tables' owner: it could alter them.
    @Test func theServerRefusesToRunAsTheTablesOwner() async throws {
        let server = try await TestServer.shared.start()
        var configuration = ServerConfiguration()
        configuration.citus = TestServer.citus
        configuration.port = 0
        configuration.expirySweepSeconds = 0
        let service = AtriumService(configuration: configuration, client: server.ownerClient, owner: nil, logger: server.logger)
        do {
            try await service.run()
            Issue.record("the server started as the owner")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("owns"), "\(error)")
        }
    }
}
