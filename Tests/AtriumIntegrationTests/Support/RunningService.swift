import AtriumServer
import Logging
import PostgresNIO
import ServiceLifecycle

/// An AtriumService of a test's own in a ServiceGroup the test can shut down, listening on a
/// free port. `port` is 0 when the service failed before it listened (`running` then throws).
struct RunningService {
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let port: Int

    /// `alongside`: services run in the same group before it (its pool, when the test owns one).
    static func start(
        _ configuration: ServerConfiguration, client: PostgresClient, owner: PostgresClient.Configuration?, alongside: [any Service] = [],
        logger: Logger
    ) async -> RunningService {
        let ready = AsyncStream<Int>.makeStream()
        let service = AtriumService(configuration: configuration, client: client, owner: owner, logger: logger, onReady: { port in
            ready.continuation.yield(port)
            ready.continuation.finish()
        })
        let group = ServiceGroup(services: alongside + [service], logger: logger)
        let running = Task {
            defer { ready.continuation.finish() }
            try await group.run()
        }
        var port = 0
        for await bound in ready.stream { port = bound }
        return RunningService(group: group, running: running, port: port)
    }
}
