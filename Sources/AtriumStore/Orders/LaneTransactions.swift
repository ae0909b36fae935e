import AtriumDomain
import Logging
import NIOCore
import PostgresNIO

/// The two pooled connections a SubmitOrder lane keeps while it has batches to record
/// (`Database.withLane`). A batch runs on one of them while the other already has BEGIN and the
/// mall setting queued for the next batch: postgres-nio sends them while this batch works, so the
/// next batch starts with its first real statement, and its two round trips and the pool
/// acquisition leave the path every till waits on. A transaction holds no snapshot until its
/// first real statement, so the waiting one sees every commit before it.
///
/// Each transaction runs on its connection's event loop (`EventLoopTaskExecutor`): a batch's
/// statements are written from that thread and it resumes there on each answer, where on the
/// cooperative pool every round trip woke two threads (measured: the member lock's round trip
/// fell from 2.0 to 1.5 ms, SubmitOrder +7 % over three alternating pairs of runs). The pool's
/// loops (`--db-threads`) thus also carry the lanes' own work, evaluation included: lanes of
/// different malls share a loop's thread when there are fewer loops than busy lanes.
///
/// Only SubmitOrder's statements run here, so every transaction is planned `.cached`. Used by one
/// task at a time, the lane's.
final class LaneTransactions {
    private struct Slot {
        let connection: PostgresConnection
        let executor: EventLoopTaskExecutor
        /// BEGIN and the settings, queued and not yet awaited; nil when no transaction is open.
        var opened: EventLoopFuture<Void>?
        var mallId: Int64 = 0
    }

    private var current: Slot
    private var spare: Slot
    private let logger: Logger
    private let citus: Bool
    /// False once a failure may have left a connection unfit (it broke, the server ended it, or
    /// a deadline fired) or one of them closed: the lane then ends and a fresh one acquires new
    /// connections from the pool, which drops closed ones. (A query sent on a connection that has
    /// closed is never answered, so one must not be used.)
    var isUsable: Bool { !failed && !current.connection.isClosed && !spare.connection.isClosed }
    private var failed = false

    init(_ first: PostgresConnection, _ second: PostgresConnection, citus: Bool = false, logger: Logger) {
        precondition(first.id != second.id, "a lane's two connections are distinct")
        current = Slot(connection: first, executor: EventLoopTaskExecutor(first.eventLoop))
        spare = Slot(connection: second, executor: EventLoopTaskExecutor(second.eventLoop))
        self.logger = logger
        self.citus = citus
    }

    /// Runs `body` in a transaction that sees only `mallId`'s rows, like `Database.withMall`:
    /// serialization failures and deadlocks are retried, and `timeout` bounds each attempt.
    /// Without `retryingLockWaits`, a lock wait past `lock_timeout` fails at once: a batch then
    /// records its orders one by one rather than wait again for a member held elsewhere.
    func transaction<T>(mallId: Int64, timeout: Duration, retryingLockWaits: Bool = true, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        precondition(mallId > 0, "a mall transaction needs a mall")
        var attempt = 0
        while true {
            guard isUsable else { throw DomainError.unavailable("the database connection failed; retry") }
            attempt += 1
            let armed = Deadline.arm(timeout)
            do {
                let value = try await once(mallId: mallId, body)
                if armed.disarm() { failed = true }
                return value
            } catch {
                if armed.disarm() {
                    failed = true
                    throw Deadline.timedOut
                }
                if !StoreErrors.leavesConnectionUsable(error) { failed = true }
                let mapped = StoreErrors.map(error)
                if case .retry(DomainError.aborted) = mapped, !retryingLockWaits { throw mapped.error }
                if case .retry = mapped, attempt < Database.retriesMax { continue }
                throw mapped.error
            }
        }
    }

    private func once<T>(mallId: Int64, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = current.connection
        var opened = current.opened ?? Database.begin(on: connection, mallId: mallId, planning: .cached, limits: .till, citus: citus, logger: logger)
        if current.opened != nil, current.mallId != mallId {
            // The lane moved to another mall: the later SET LOCAL is the one that holds.
            let settings = Database.mallSettings(mallId).map { connection.query($0, logger: logger) }
            opened = opened.and(EventLoopFuture.andAllSucceed(settings, on: connection.eventLoop)).map { _ in }
        }
        current.opened = nil
        if spare.opened == nil {
            spare.opened = Database.begin(on: spare.connection, mallId: mallId, planning: .cached, limits: .till, citus: citus, logger: logger)
            spare.mallId = mallId
        }
        // Whatever the outcome, this transaction is over and the spare's is open.
        defer { swap(&current, &spare) }
        return try await withTaskExecutorPreference(current.executor) {
            try await Database.finish(on: connection, opened: opened, logger: logger, body)
        }
    }

    /// Rolls back the transaction opened for a next batch that did not come.
    func close() async {
        for slot in [current, spare] where slot.opened != nil && !slot.connection.isClosed {
            _ = try? await slot.connection.query("ROLLBACK", logger: logger)
        }
        current.opened = nil
        spare.opened = nil
    }
}

extension Database {
    /// Runs `body` with a lane's two connections (see `LaneTransactions`), acquired within
    /// `timeout` and returned to the pool when `body` ends.
    func withLane<T>(timeout: Duration = Database.acquireTimeout, _ body: (LaneTransactions) async throws -> T) async throws -> T {
        let armed = Deadline.arm(timeout)
        do {
            return try await client.withConnection { first in
                try await client.withConnection { second in
                    if armed.disarm() { throw Deadline.timedOut }
                    let lane = LaneTransactions(first, second, citus: citus, logger: logger)
                    do {
                        let value = try await body(lane)
                        await lane.close()
                        return value
                    } catch {
                        await lane.close()
                        throw error
                    }
                }
            }
        } catch {
            guard !armed.disarm() else { throw Deadline.timedOut }
            throw StoreErrors.map(error).error
        }
    }
}
