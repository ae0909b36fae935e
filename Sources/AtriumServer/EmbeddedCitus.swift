import Logging
import PostgresNIO

/// A Citus cluster on this machine for the scale-out suite and benchmarks: a coordinator and
/// worker nodes, each a private PostgreSQL cluster (`EmbeddedPostgres`) with Citus preloaded, on
/// sockets of their own. Every node gets the two roles and the application database with the
/// citus extension in it; the coordinator knows itself and its workers. Atrium connects to the
/// coordinator only; its migrations distribute the tables (`CitusDistribution`).
///
/// Citus is not in Debian's packages: `deploy/citus-test.sh` builds it first.
public struct EmbeddedCitus: Sendable {
    public let coordinator: EmbeddedPostgres
    public let workers: [EmbeddedPostgres]
    let logger: Logger

    /// Nodes in `directory`/coordinator, `directory`/worker-1, … on `port`, `port` + 1, …
    public init(directory: String, port: Int, workers: Int = 2, durable: Bool = true, logger: Logger) throws {
        precondition(workers >= 1)
        let settings = ["shared_preload_libraries=citus"]
        coordinator = try EmbeddedPostgres(options: .init(directory: directory + "/coordinator", port: port, durable: durable, settings: settings), logger: logger)
        self.workers = try (1...workers).map { index in
            try EmbeddedPostgres(options: .init(directory: directory + "/worker-\(index)", port: port + index, durable: durable, settings: settings), logger: logger)
        }
        self.logger = logger
    }

    public var nodes: [EmbeddedPostgres] { [coordinator] + workers }

    /// Starts every node and joins the workers to the coordinator; safe to call again.
    public func start() async throws {
        let database = EmbeddedPostgres.applicationDatabase
        for node in nodes {
            try await node.start()
            try await node.withSuperuserConnection(database: database) { connection in
                try await connection.query("CREATE EXTENSION IF NOT EXISTS citus", logger: logger)
            }
        }
        try await coordinator.withSuperuserConnection(database: database) { connection in
            try await connection.query("SELECT citus_set_coordinator_host(\(coordinator.socketDirectory), \(coordinator.options.port)::int)", logger: logger)
            for worker in workers {
                try await connection.query("""
                    SELECT citus_add_node(\(worker.socketDirectory), \(worker.options.port)::int)
                    WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = \(worker.socketDirectory) AND nodeport = \(worker.options.port))
                    """, logger: logger)
            }
        }
    }

    public func stop(immediately: Bool = false) {
        for node in nodes.reversed() { node.stop(immediately: immediately) }
    }
}
