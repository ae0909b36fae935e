import AtriumDomain
import PostgresNIO
import Synchronization

/// Bounds a database operation in time: a watchdog sweeps once a second and cancels the tasks
/// whose deadline has passed, and the operation's failure then becomes `DomainError.unavailable`.
/// A dead database is the case this guards: the pool then waits for a connection that never
/// comes, and cancellation ends that wait. The bound is coarse (up to a second late), which suits
/// a timeout of seconds.
///
/// Which task is cancelled matters. A gRPC handler's task must not be: the transport takes that
/// as the call being cancelled and resets the stream instead of sending UNAVAILABLE. So by default
/// the operation runs in a child task, and only the child is cancelled. A task the store owns
/// (a SubmitOrder lane) may be cancelled itself, which saves the child: starting it and coming
/// back from it are two trips through the executor per transaction, on the path every till waits
/// on. (Racing the body against a sleeping child, as this once did, cost three such trips and a
/// timer per transaction.)
public enum Deadline {
    public enum Target: Sendable {
        /// The operation runs in a child task, which the deadline cancels.
        case child
        /// The operation runs in the calling task, which the deadline cancels for good: only for
        /// a task that the store owns and replaces when it was cancelled.
        case callingTask
    }

    static func run<T: Sendable>(_ timeout: Duration, cancelling target: Target, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        switch target {
        case .callingTask:
            return try await guarded(timeout, body)
        case .child:
            async let value = guarded(timeout, body)
            return try await value
        }
    }

    private static func guarded<T>(_ timeout: Duration, _ body: () async throws -> T) async throws -> T {
        let armed = arm(timeout)
        do {
            let value = try await body()
            armed.disarm()
            return value
        } catch {
            guard armed.disarm() else { throw error }
            throw timedOut
        }
    }

    /// What an operation that overran its deadline fails with.
    static let timedOut = DomainError.unavailable("the database did not answer in time")

    /// A deadline on the calling task, armed and disarmed by hand: for an operation that is not
    /// one closure (a lane acquires its connections in one scope and records in another). The
    /// task is cancelled for good if it fires; see `Target.callingTask`.
    struct Armed {
        fileprivate let id: UInt64?

        /// Ends the deadline; true when it fired first.
        @discardableResult
        func disarm() -> Bool {
            guard let id else { return false }
            return Watchdog.shared.deregister(id)
        }
    }

    static func arm(_ timeout: Duration) -> Armed {
        Armed(id: withUnsafeCurrentTask { task in task.map { Watchdog.shared.register($0, until: .now + timeout) } })
    }

    /// The tasks with a deadline. A task is touched only while registered, and it deregisters
    /// before its operation returns, both under the lock: so every task the sweep cancels is alive.
    final class Watchdog: Sendable {
        static let shared = Watchdog(sweepEvery: .seconds(1))

        /// Sendable by the protocol above: only the sweep uses it, under the lock.
        private struct Entry: @unchecked Sendable {
            let task: UnsafeCurrentTask
            let deadline: ContinuousClock.Instant
            var fired = false
        }

        private struct State: Sendable {
            var nextId: UInt64 = 0
            var entries: [UInt64: Entry] = [:]
        }

        private let state = Mutex(State())

        private init(sweepEvery interval: TimeAmount) {
            PostgresClient.defaultEventLoopGroup.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
                self?.sweep()
            }
        }

        func register(_ task: UnsafeCurrentTask, until deadline: ContinuousClock.Instant) -> UInt64 {
            let entry = Entry(task: task, deadline: deadline)
            return state.withLock { state in
                state.nextId += 1
                state.entries[state.nextId] = entry
                return state.nextId
            }
        }

        /// Forgets the task; true when its deadline fired first.
        @discardableResult
        func deregister(_ id: UInt64) -> Bool {
            state.withLock { $0.entries.removeValue(forKey: id)?.fired ?? false }
        }

        private func sweep() {
            let now = ContinuousClock.now
            state.withLock { state in
                for (id, entry) in state.entries where !entry.fired && entry.deadline <= now {
                    entry.task.cancel()
                    state.entries[id]?.fired = true
                }
            }
        }
    }
}
