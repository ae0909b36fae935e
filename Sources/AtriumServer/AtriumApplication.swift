import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The composition root: the database (embedded or external), its pool, and the gRPC service,
/// run as one ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
public enum AtriumApplication {
    /// The pool for an external URL, or for the embedded cluster, which it starts (and returns,
    /// so the caller stops it after the group ends).
    public static func database(_ configuration: ServerConfiguration, logger: Logger) async throws -> (PostgresClient.Configuration, EmbeddedPostgres?) {
        var pool: PostgresClient.Configuration
        var embedded: EmbeddedPostgres?
        if let url = configuration.databaseURL {
            pool = try DatabaseURL.configuration(url)
        } else {
            let directory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
            let cluster = try EmbeddedPostgres(options: .init(directory: directory, port: configuration.embeddedPort, durable: configuration.embeddedDurable), logger: logger)
            try await cluster.start()
            pool = cluster.clientConfiguration()
            embedded = cluster
        }
        pool.options.maximumConnections = configuration.databaseConnectionsMax
        pool.options.minimumConnections = min(4, configuration.databaseConnectionsMax)
        return (pool, embedded)
    }

    /// Runs until SIGTERM or SIGINT; `onReady` gets the bound port once the server listens.
    public static func run(_ configuration: ServerConfiguration, logger: Logger, onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let (pool, embedded) = try await database(configuration, logger: logger)
        defer { embedded?.stop() }
        let client = PostgresClient(configuration: pool, backgroundLogger: logger)
        let atrium = AtriumService(configuration: configuration, client: client, logger: logger, onReady: onReady)
        let group = ServiceGroup(services: [client, atrium], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
