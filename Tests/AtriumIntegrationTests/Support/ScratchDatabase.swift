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
