import AtriumStore
import Logging
import Synchronization

/// Whether the database answers, probed once a second in the background, so a health check
/// answers at once from memory: it costs the database nothing, an unauthenticated caller cannot
/// make the server query it, and a lost database shows as NOT_SERVING within about three seconds
/// (a probe waits at most `probeTimeout` for a pooled connection and `SELECT 1`; two probes in a
/// row must fail, so one slow answer on a loaded server does not take it out of rotation).
final class HealthMonitor: Sendable {
    static let interval: Duration = .seconds(1)
    static let probeTimeout: Duration = .seconds(1)
    static let failuresToReportDown = 2

    private let up = Atomic<Bool>(true)
    private let db: Database
    private let logger: Logger

    init(db: Database, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    var databaseIsUp: Bool { up.load(ordering: .relaxed) }

    /// Probes until cancelled.
    func run() async {
        var failures = 0
        while !Task.isCancelled {
            failures = await Self.probe(db, within: Self.probeTimeout) ? 0 : failures + 1
            let answered = failures < Self.failuresToReportDown
            if up.exchange(answered, ordering: .relaxed) != answered {
                logger.notice(answered ? "database answers again" : "database does not answer", metadata: [:])
            }
            try? await Task.sleep(for: Self.interval)
        }
    }

    static func probe(_ db: Database, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await ping(db) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
    }

    private static func ping(_ db: Database) async -> Bool {
        do {
            return try await db.withoutMall { connection in
                for try await one in try await connection.query("SELECT 1", logger: Logger(label: "health")).decode(Int.self) { return one == 1 }
                return false
            }
        } catch {
            return false
        }
    }
}
