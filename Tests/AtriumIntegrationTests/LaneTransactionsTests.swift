import AtriumDomain
import Logging
import PostgresNIO
import Testing
@testable import AtriumStore

/// A SubmitOrder lane keeps two connections and opens the next batch's transaction before that
/// batch exists: what each transaction sees must be exactly what `Database.withMall` would show.
@Suite("SubmitOrder lanes' transactions", .timeLimit(.minutes(1)))
struct LaneTransactionsTests {
    /// The mall set for the transaction, and the malls of the merchants it sees with no filter.
    @Sendable static func seen(_ connection: PostgresConnection, logger: Logger) async throws -> [Int64] {
        var malls: [Int64] = []
        try await allowingEveryShard(connection, logger: logger)
        for try await mall in try await connection.query("SELECT current_setting('atrium.mall_id')::bigint UNION ALL SELECT mall_id FROM merchants", logger: logger).decode(Int64.self) {
            malls.append(mall)
        }
        return malls
    }

    @Test func eachTransactionSeesItsOwnMallAsTheLaneMovesBetweenMalls() async throws {
        let server = try await TestServer.shared.start()
        let (a, b) = try await MallFixture.twoMallsWithMerchants()
        let db = Database(client: server.client, logger: server.logger)
        // The spare connection is opened for the mall of the batch before it: a, a, then b on a
        // spare opened for a, then a on one opened for b.
        let order = [a.mall.id, a.mall.id, b.mall.id, b.mall.id, a.mall.id, b.mall.id]
        let seen = try await db.withLane { lane in
            var seen: [[Int64]] = []
            for mall in order { seen.append(try await lane.transaction(mallId: mall, timeout: .seconds(10)) { try await Self.seen($0, logger: server.logger) }) }
            return seen
        }
        #expect(seen == order.map { $0 == a.mall.id ? [$0, $0, $0] : [$0, $0] })

        // The lane's connections went back to the pool with no transaction open (two statements
        // in one transaction would share its id) and no mall set.
        try await withThrowingTaskGroup(of: (String?, Bool).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await server.client.withConnection { connection in
                        var seen: [(String?, Int64)] = []
                        for _ in 0..<2 {
                            let rows = try await connection.query("SELECT current_setting('atrium.mall_id', true), txid_current()", logger: server.logger)
                            for try await row in rows.decode((String?, Int64).self) { seen.append(row) }
                        }
                        return (seen[0].0, seen[0].1 != seen[1].1)
                    }
                }
            }
            for try await (mall, outsideTransaction) in group {
                #expect(mall ?? "" == "")
                #expect(outsideTransaction, "no transaction left open")
            }
        }
    }

    /// The spare transaction began while the one before it ran; its first statement still sees
    /// every commit before it, the lane's own and anyone else's.
    @Test func anOpenedTransactionSeesWhatCommittedBeforeItsFirstStatement() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let mallId = fixture.mall.id
        let db = Database(client: server.client, logger: server.logger)
        let counts = try await db.withLane { lane in
            @Sendable func partners(_ connection: PostgresConnection) async throws -> Int {
                var count = 0
                try await allowingEveryShard(connection, logger: server.logger)
                for try await n in try await connection.query("SELECT count(*)::int FROM partners", logger: server.logger).decode(Int.self) { count = n }
                return count
            }
            var counts = [try await lane.transaction(mallId: mallId, timeout: .seconds(10), partners)]
            try await lane.transaction(mallId: mallId, timeout: .seconds(10)) { connection in
                try await connection.query("INSERT INTO partners (mall_id, code, name) VALUES (\(mallId), 'lane', 'Lane')", logger: server.logger)
            }
            counts.append(try await lane.transaction(mallId: mallId, timeout: .seconds(10), partners))
            try await db.withMall(mallId) { connection in
                try await connection.query("INSERT INTO partners (mall_id, code, name) VALUES (\(mallId), 'other', 'Other')", logger: server.logger)
            }
            counts.append(try await lane.transaction(mallId: mallId, timeout: .seconds(10), partners))
            counts.append(try await lane.transaction(mallId: mallId, timeout: .seconds(10), partners))
            return counts
        }
        #expect(counts == [0, 1, 2, 2])
    }

    /// A connection ended under the lane fails the batch on it with UNAVAILABLE and retires the
    /// lane; a new lane gets healthy connections.
    @Test func aLaneWhoseConnectionIsEndedBecomesUnusable() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let mallId = fixture.mall.id
        let db = Database(client: server.client, logger: server.logger)
        @Sendable func pid(_ connection: PostgresConnection) async throws -> Int32 {
            var pid: Int32 = 0
            for try await n in try await connection.query("SELECT pg_backend_pid()", logger: server.logger).decode(Int32.self) { pid = n }
            return pid
        }
        try await db.withLane { lane in
            let first = try await lane.transaction(mallId: mallId, timeout: .seconds(10), pid)
            let second = try await lane.transaction(mallId: mallId, timeout: .seconds(10), pid)
            #expect(first != second, "two connections, used in turn")
            // The next transaction runs on the first connection again: end it from outside.
            try await server.client.withConnection { connection in
                for try await ended in try await connection.query("SELECT pg_terminate_backend(\(first))", logger: server.logger).decode(Bool.self) { #expect(ended) }
            }
            try await Task.sleep(for: .milliseconds(200))
            await #expect(throws: DomainError.self) { try await lane.transaction(mallId: mallId, timeout: .seconds(10), pid) }
            #expect(!lane.isUsable)
            await #expect(throws: DomainError.unavailable("the database connection failed; retry")) {
                try await lane.transaction(mallId: mallId, timeout: .seconds(10), pid)
            }
        }
        let fresh = try await db.withLane { lane in try await lane.transaction(mallId: mallId, timeout: .seconds(10), pid) }
        #expect(fresh > 0)
    }

    /// A lane's transaction runs on its connection's event loop, before and after each answer
    /// from PostgreSQL, so no round trip hops between that thread and the cooperative pool.
    @Test func aLaneTransactionRunsOnItsConnectionsEventLoop() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let db = Database(client: server.client, logger: server.logger)
        let onLoop = try await db.withLane { lane in
            var onLoop: [Bool] = []
            for _ in 0..<3 {
                try await lane.transaction(mallId: fixture.mall.id, timeout: .seconds(10)) { connection in
                    onLoop.append(connection.eventLoop.inEventLoop)
                    _ = try await Self.seen(connection, logger: server.logger)
                    onLoop.append(connection.eventLoop.inEventLoop)
                }
            }
            return onLoop
        }
        #expect(onLoop == Array(repeating: true, count: 6))
    }
}
