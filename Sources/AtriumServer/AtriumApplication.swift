import AtriumStore
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import ServiceLifecycle

/// The composition root: the database (embedded or external), its pool, and the gRPC service,
/// run as one ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
public enum AtriumApplication {
    /// The pool for an external URL, or for the embedded cluster, which it starts (and returns,
    /// so the caller stops it after the group ends); and how the migrations connect, as the
    /// tables' owner, when known.
    /// With `--citus` and no URL, the embedded database is a Citus coordinator with two workers
    /// (`EmbeddedCitus`, ports `--embedded-port` and the two after it): for trying distributed
    /// mode and benchmarking it on one machine.
    public static func database(_ configuration: ServerConfiguration, logger: Logger) async throws -> (PostgresClient.Configuration, owner: PostgresClient.Configuration?, [EmbeddedPostgres]) {
        var pool: PostgresClient.Configuration
        var owner: PostgresClient.Configuration?
        var embedded: [EmbeddedPostgres] = []
        if let url = configuration.databaseURL {
            pool = try DatabaseURL.configuration(url)
            owner = try configuration.ownerDatabaseURL.map(DatabaseURL.configuration)
        } else if configuration.citus {
            let directory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
            let cluster = try EmbeddedCitus(directory: directory, port: configuration.embeddedPort, workers: 2, durable: configuration.embeddedDurable, logger: logger)
            try await cluster.start()
            pool = cluster.coordinator.clientConfiguration()
            owner = cluster.coordinator.ownerConfiguration()
            embedded = cluster.nodes
        } else {
            let directory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
            let cluster = try EmbeddedPostgres(options: .init(directory: directory, port: configuration.embeddedPort, durable: configuration.embeddedDurable), logger: logger)
            try await cluster.start()
            pool = cluster.clientConfiguration()
            owner = cluster.ownerConfiguration()
            embedded = [cluster]
        }
        pool.options.maximumConnections = configuration.databaseConnectionsMax
        return (pool, owner, embedded)
    }

    /// Runs until SIGTERM or SIGINT; `onReady` gets the bound port once the server listens.
    public static func run(_ configuration: ServerConfiguration, logger: Logger, onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let (pool, owner, embedded) = try await database(configuration, logger: logger)
        defer { for node in embedded.reversed() { node.stop() } }
        let (client, threads) = databaseClient(pool, threads: configuration.databaseThreads, citus: configuration.citus, logger: logger)
        let atrium = AtriumService(configuration: configuration, client: client, owner: owner, logger: logger, onReady: onReady)
        let group = ServiceGroup(services: [client, atrium], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        try await threads.shutdownGracefully()
    }

    /// The pool, on event loops of its own. On the gRPC server's loops, a reply from PostgreSQL
    /// waited behind HTTP/2 frames before the batch it belonged to could go on, and every till
    /// of the mall waits on that batch (measured: SubmitOrder +10-15 % with a loop of its own).
    /// Its connections start with `Database.sessionParameters`.
    ///
    /// The pool keeps no minimum of connections: with one, postgres-nio 1.33.2's pool state machine
    /// trips a precondition (`minimumConcurrentConnections <= stats.active` in
    /// `createNewDemandConnectionIfPossible`) when a lease arrives while the connections it keeps
    /// are fewer than the minimum, which happens right after PostgreSQL restarts: atriumd died
    /// with SIGILL in 5 of 8 restarts under load. Connections are opened on demand instead; a
    /// lease stranded by that pool's other known gap (postgres-nio issue 657) ends at the
    /// transaction's deadline.
    public static func databaseClient(_ pool: PostgresClient.Configuration, threads: Int, citus: Bool, logger: Logger) -> (PostgresClient, MultiThreadedEventLoopGroup) {
        var pool = pool
        pool.options.minimumConnections = 0
        pool.options.additionalStartupParameters += Database.sessionParameters(citus: citus)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        return (PostgresClient(configuration: pool, eventLoopGroup: group, backgroundLogger: logger), group)
    }
}
