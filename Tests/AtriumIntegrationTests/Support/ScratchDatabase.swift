import AtriumServer
import Logging
import PostgresNIO

/// A database of its own on the test cluster, owned by the tables' owner role, for migration
/// tests that start from an older schema: `body` gets a client connected as that owner. The
/// database is dropped afterwards.
func withScratchDatabase(_ body: (PostgresClient, Logger) async throws -> Void) async throws {
    let server = try await TestServer.shared.start()
    let logger = server.logger
    let name = "scratch_\(UInt32.random(in: 0...UInt32.max))"
    let admin = try await PostgresConnection.connect(
        configuration: .init(unixSocketPath: server.cluster.socketPath, username: "postgres", password: nil, database: "postgres"), id: 1, logger: logger)
    try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(EmbeddedPostgres.ownerRole)"), logger: logger)
    let client = PostgresClient(configuration: server.cluster.ownerConfiguration(database: name), backgroundLogger: logger)
    let running = Task { await client.run() }
    do {
        try await body(client, logger)
    } catch {
        running.cancel()
        _ = await running.result
        try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
        try await admin.close()
        throw error
    }
    running.cancel()
    _ = await running.result
    try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
    try await admin.close()
}

/// Inserts mall 1 as an older schema holds it (allow-debt refunds, the given expiry policy and
/// parameter) and sets it for the rest of the transaction, for migration tests' data.
func insertScratchMall(expiryPolicy: Int16, expiryParameter: Int32, on connection: PostgresConnection, logger: Logger) async throws {
    try await connection.query("""
        INSERT INTO malls (code, name, currency_code, time_zone, redeem_points, redeem_value_minor, issue_points, issue_value_minor,
            expiry_policy, expiry_parameter, refund_shortfall_policy)
        VALUES ('m-1', 'Mall', 'CNY', 'Asia/Shanghai', 100, 1, 1, 1, \(expiryPolicy), \(expiryParameter), 2)
        """, logger: logger)
    try await connection.query("SET LOCAL atrium.mall_id = 1", logger: logger)
}
