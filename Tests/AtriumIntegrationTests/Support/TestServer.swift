import AtriumServer
import AtriumStore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PostgresNIO
import ServiceLifecycle

/// This run's private clusters, for the exit hook.
nonisolated(unsafe) private var clustersToStop: [EmbeddedPostgres] = []
nonisolated(unsafe) private var directoryToRemove: String?

/// One private PostgreSQL cluster and one in-process atriumd per test run, shared by every test.
/// Each test works in malls of its own, so tests run in parallel without seeing each other.
/// With `ATRIUM_TEST_CITUS=1` (`deploy/citus-test.sh`) the cluster is a Citus coordinator with
/// two workers, and the same tests run against Atrium's distributed mode.
actor TestServer {
    static let shared = TestServer()
    static let platformKey = "atrp_" + String(repeating: "T", count: Keys.secretLength)
    /// Whether this run's database is Citus.
    static let citus = ProcessInfo.processInfo.environment["ATRIUM_TEST_CITUS"] == "1"

    struct Running: Sendable {
        /// The database the server uses: the coordinator on Citus.
        let cluster: EmbeddedPostgres
        /// The server's pool, as its own role (`RuntimePrivileges`).
        let client: PostgresClient
        /// A pool as the tables' owner, for tests of migrations and of what only the owner may do.
        let ownerClient: PostgresClient
        let port: Int
        let grpc: GRPCClient<HTTP2ClientTransport.Posix>
        let logger: Logger
    }

    private var running: Task<Running, any Error>?

    func start() async throws -> Running {
        if let running { return try await running.value }
        let task = Task { try await Self.boot() }
        running = task
        return try await task.value
    }

    private static func boot() async throws -> Running {
        var logger = Logger(label: "atrium-test")
        logger.logLevel = ProcessInfo.processInfo.environment["ATRIUM_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let pid = ProcessInfo.processInfo.processIdentifier
        let directory = "/tmp/atrium-test-\(pid)"
        try? FileManager.default.removeItem(atPath: directory)
        // ATRIUM_TEST_KEEP_CLUSTER=1 keeps the directory, logs included, for a look afterwards.
        directoryToRemove = ProcessInfo.processInfo.environment["ATRIUM_TEST_KEEP_CLUSTER"] == "1" ? nil : directory
        let clusterPort = 40_000 + Int(pid % 6_000) * 3
        let cluster: EmbeddedPostgres
        if citus {
            let citus = try EmbeddedCitus(directory: directory, port: clusterPort, workers: 2, durable: false, logger: logger)
            clustersToStop = citus.nodes
            try await citus.start()
            cluster = citus.coordinator
        } else {
            cluster = try EmbeddedPostgres(options: .init(directory: directory, port: clusterPort, durable: false), logger: logger)
            clustersToStop = [cluster]
            try await cluster.start()
        }
        atexit {
            for node in clustersToStop.reversed() { node.stop() }
            if let directoryToRemove { try? FileManager.default.removeItem(atPath: directoryToRemove) }
        }
        var pool = cluster.clientConfiguration()
        pool.options.maximumConnections = 40
        // On Citus, any statement of the server's that would touch more than one shard fails
        // instead of running: every test then also proves that what it made the server do stays
        // on one mall's shard.
        if citus { pool.options.additionalStartupParameters.append(("citus.multi_task_query_log_level", "error")) }
        var configuration = ServerConfiguration()
        configuration.citus = citus
        // Lives as long as the test process: no shutdown.
        let (client, _) = AtriumApplication.databaseClient(pool, threads: configuration.databaseThreads, citus: citus, logger: logger)
        configuration.port = 0
        configuration.platformKey = platformKey
        configuration.authCacheMilliseconds = 0
        // Every test calls from 127.0.0.1, and the fuzz test fails to authenticate on purpose:
        // the limit is tested on a server of its own (AuthorizationTests).
        configuration.authFailuresPerMinuteMax = 0
        // Expiry runs when a test asks (ExpiryTests): a background sweep would take their lots first.
        configuration.expirySweepSeconds = 0
        let ready = AsyncStream<Int>.makeStream()
        let service = AtriumService(configuration: configuration, client: client, owner: cluster.ownerConfiguration(), logger: logger, onReady: { port in
            ready.continuation.yield(port)
            ready.continuation.finish()
        })
        let ownerClient = PostgresClient(configuration: cluster.ownerConfiguration(), backgroundLogger: logger)
        let group = ServiceGroup(services: [client, ownerClient, service], logger: logger)
        // A server that fails to start (its migrations, say) ends the wait instead of hanging every test.
        Task {
            do { try await group.run() } catch { logger.critical("the test server failed", metadata: ["error": "\(String(reflecting: error))"]) }
            ready.continuation.finish()
        }
        var port = 0
        for await bound in ready.stream { port = bound }
        guard port > 0 else { throw RPCError(code: .unavailable, message: "the test server did not start (ATRIUM_TEST_LOG=info tells why)") }
        let grpc = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
        Task { try await grpc.runConnections() }
        return Running(cluster: cluster, client: client, ownerClient: ownerClient, port: port, grpc: grpc, logger: logger)
    }
}
