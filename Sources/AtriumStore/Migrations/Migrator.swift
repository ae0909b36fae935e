import Logging
import PostgresNIO

/// Applies pending migrations at start-up, as the tables' owner. All of them run in one
/// transaction that first takes a transaction-scoped advisory lock, so replicas starting together
/// apply each migration once and a failing migration leaves the schema as it was. The same
/// transaction places the tables on a Citus cluster (`CitusDistribution`) and grants the
/// server's role what `RuntimePrivileges` lists, and nothing more.
public struct Migrator: Sendable {
    /// Arbitrary, fixed: "atrium" in ASCII.
    static let advisoryLockKey: Int64 = 0x61_74_72_69_75_6D

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Returns the versions applied by this call (empty when the schema was current).
    /// `runtimeRole`: the role the server connects as, granted `RuntimePrivileges`.
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migration.all, grantingTo runtimeRole: String? = nil) async throws -> [Int32] {
        let applied = try await client.withTransaction(logger: logger) { connection in
            try await Self.migrate(migrations, grantingTo: runtimeRole, on: connection, logger: logger)
        }
        // Citus carries table grants to the shards, but not sequence grants to the workers, where
        // a delegated record_orders draws its ids. Their sequences exist there only once the
        // migrations' transaction has committed, and run_command_on_workers runs outside it.
        if let runtimeRole {
            try await client.withConnection { connection in
                guard try await CitusDistribution.isAvailable(on: connection, logger: logger) else { return }
                let grant = RuntimePrivileges.sequenceGrant(for: runtimeRole)
                for try await (node, success, result) in try await connection.query(
                    "SELECT nodename, success, result FROM run_command_on_workers(\(grant))", logger: logger
                ).decode((String, Bool, String).self) where !success {
                    throw MigrationFailure("granting sequences on worker \(node) failed: \(result)")
                }
            }
        }
        return applied
    }

    struct MigrationFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func migrate(
        _ migrations: [Migration], grantingTo runtimeRole: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int32] {
        // Pooled sessions start with the till's time limits: a backfill may run for long, and
        // a replica waits for another's migrations (the lock) up to a minute, then retries.
        try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
        try await connection.query("SET LOCAL lock_timeout = 60000", logger: logger)
        try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: logger)
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var applied = Set<Int32>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int32.self) {
            applied.insert(version)
        }
        var done: [Int32] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            for statement in migration.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
            done.append(migration.version)
        }
        // On Citus, tables created by these migrations are placed before anyone writes to them.
        if try await CitusDistribution.isAvailable(on: connection, logger: logger) {
            try await CitusDistribution.apply(on: connection, logger: logger)
        }
        if let runtimeRole {
            for statement in RuntimePrivileges.statements(for: runtimeRole) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        return done
    }
}
