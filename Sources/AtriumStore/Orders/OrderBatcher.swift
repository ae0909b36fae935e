import AtriumDomain
import Synchronization

/// Group commit for SubmitOrder. Concurrent submissions wait in a queue; a lane takes everything
/// queued for one mall (up to a batch limit) and records it in one transaction, so a busy mall
/// pays one commit and one round trip per step for many tills, while a quiet one records each
/// order at once (a batch of one).
///
/// A mall has at most one batch in flight: its orders then wait in the queue and join the next
/// batch rather than start a small one that competes for the same rows and CPU (measured: one
/// lane per mall beat two or three by 10-20 %). Different malls run in parallel, up to `lanes`.
///
/// A batch never holds two submissions of the same order number: the second waits for the
/// next batch and then replays (or conflicts with) what the first recorded.
///
/// A lane records through a `BatchRecorder` it keeps from batch to batch (the store's holds two
/// connections, one with the next transaction already begun: `LaneTransactions`).
public final class OrderBatcher: Sendable {
    public struct Options: Sendable {
        /// Batches in flight at once across malls, each on two connections of its own.
        public var lanes: Int
        public var batchSizeMax: Int
        /// Calls waiting across all malls.
        public var queueMax: Int
        /// Calls waiting for one mall: a mall that floods the server fills its own share, and the
        /// other malls' tills are still admitted.
        public var queuePerMallMax: Int

        public init(
            lanes: Int = 4, batchSizeMax: Int = Limits.orderBatchSizeMax, queueMax: Int = Limits.orderQueueMax,
            queuePerMallMax: Int = Limits.orderQueuePerMallMax
        ) {
            precondition(lanes > 0 && (1...Limits.orderBatchSizeMax).contains(batchSizeMax) && queueMax > 0 && queuePerMallMax > 0)
            self.lanes = lanes
            self.batchSizeMax = batchSizeMax
            self.queueMax = queueMax
            self.queuePerMallMax = queuePerMallMax
        }
    }

    /// Records one batch of one mall; one answer per submission, in order.
    typealias Record = @Sendable (Int64, [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>]

    /// Opens what a lane records its batches with, runs `body` with it and closes it; throws,
    /// without running `body`, when it cannot be opened.
    typealias OpenRecorder = @Sendable (_ body: (any BatchRecorder) async -> Void) async throws -> Void

    private struct Waiting: Sendable {
        var mallId: Int64
        var submission: OrderSubmission
        var continuation: CheckedContinuation<SubmittedOrder, any Error>
    }

    private struct State: Sendable {
        var queue: [Waiting] = []
        /// Calls waiting in `queue`, per mall.
        var queuedByMall: [Int64: Int] = [:]
        var busyLanes = 0
        /// Malls with a batch in flight.
        var busyMalls: Set<Int64> = []

        /// The oldest submission of a mall without a batch in flight, and every queued
        /// submission of that mall with a distinct order key, oldest first; nil when every
        /// queued mall is busy. Marks the mall busy.
        mutating func takeBatch(max: Int) -> [Waiting]? {
            guard let mallId = queue.first(where: { !busyMalls.contains($0.mallId) })?.mallId else { return nil }
            busyMalls.insert(mallId)
            var batch: [Waiting] = []
            var keys: Set<OrderKey> = []
            var rest: [Waiting] = []
            rest.reserveCapacity(queue.count)
            for waiting in queue {
                if batch.count < max, waiting.mallId == mallId, keys.insert(waiting.submission.key).inserted {
                    batch.append(waiting)
                } else {
                    rest.append(waiting)
                }
            }
            queue = rest
            let left = queuedByMall[mallId, default: 0] - batch.count
            queuedByMall[mallId] = left > 0 ? left : nil
            return batch
        }
    }

    private enum Admission {
        case refused(DomainError)
        case queued
        case startLane([Waiting])
    }

    private let options: Options
    private let state = Mutex(State())

    init(options: Options) {
        self.options = options
    }

    /// Submits through a recording function with nothing to keep between batches.
    func submit(mallId: Int64, _ submission: OrderSubmission, record: @escaping Record) async throws -> SubmittedOrder {
        try await submit(mallId: mallId, submission) { body in await body(RecordingFunction(record: record)) }
    }

    func submit(mallId: Int64, _ submission: OrderSubmission, open: @escaping OpenRecorder) async throws -> SubmittedOrder {
        try await withCheckedThrowingContinuation { continuation in
            let waiting = Waiting(mallId: mallId, submission: submission, continuation: continuation)
            let admission: Admission = state.withLock { state in
                guard state.queue.count < options.queueMax else {
                    return .refused(.resourceExhausted("too many orders waiting to be recorded; retry"))
                }
                guard state.queuedByMall[mallId, default: 0] < options.queuePerMallMax else {
                    return .refused(.resourceExhausted("too many orders of this mall waiting to be recorded; retry"))
                }
                state.queue.append(waiting)
                state.queuedByMall[mallId, default: 0] += 1
                guard state.busyLanes < options.lanes, let batch = state.takeBatch(max: options.batchSizeMax) else { return .queued }
                state.busyLanes += 1
                return .startLane(batch)
            }
            switch admission {
            case .refused(let error):
                continuation.resume(throwing: error)
            case .queued:
                break
            case .startLane(let batch):
                startLane(batch, open: open)
            }
        }
    }

    /// A lane runs at high priority: its task is the one every queued till waits on, and on a
    /// busy server its steps would otherwise queue behind the work of the calls it is serving.
    private func startLane(_ batch: [Waiting], open: @escaping OpenRecorder) {
        Task(priority: .high) { await self.runLane(first: batch, open: open) }
    }

    /// Records batches until no mall with queued orders is free, then frees the lane. The lane
    /// keeps its recorder (the store keeps connections in it) from batch to batch, and opens a
    /// fresh one when a failure left it unusable.
    private func runLane(first: [Waiting], open: @escaping OpenRecorder) async {
        var batch: [Waiting]? = first
        while batch != nil {
            do {
                try await open { recorder in
                    while let current = batch {
                        guard recorder.isUsable, !Task.isCancelled else { return }
                        await recordAndAnswer(current, recorder: recorder)
                        batch = next(after: current)
                    }
                }
            } catch {
                // No recorder: the batch in hand fails; a later one may find the database back.
                if let failed = batch {
                    for waiting in failed { waiting.continuation.resume(throwing: error) }
                    batch = next(after: failed)
                }
            }
            // A database deadline cancels the task it fires in, for good: go on in a fresh one.
            if Task.isCancelled, let batch { return startLane(batch, open: open) }
        }
    }

    /// Frees `done`'s mall and takes the next batch; frees the lane when there is none.
    private func next(after done: [Waiting]) -> [Waiting]? {
        state.withLock { state in
            if let mallId = done.first?.mallId { state.busyMalls.remove(mallId) }
            guard let next = state.takeBatch(max: options.batchSizeMax) else {
                state.busyLanes -= 1
                return nil
            }
            return next
        }
    }

    /// A batch whose write fails is recorded again one order at a time, so one bad order cannot
    /// fail its neighbours. An unavailable database fails the whole batch at once: retrying each
    /// order would only make every till wait longer for the same answer.
    private func recordAndAnswer(_ batch: [Waiting], recorder: any BatchRecorder) async {
        guard let mallId = batch.first?.mallId else { return }
        do {
            let results = try await recorder.record(mallId: mallId, batch.map(\.submission))
            precondition(results.count == batch.count, "one answer per submission")
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(with: result.mapError { $0 as any Error }) }
        } catch {
            let unavailable = if case DomainError.unavailable = error { true } else { false }
            guard batch.count > 1, !unavailable else {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
                return
            }
            for waiting in batch {
                // A deadline that fired while the batch ran leaves this task cancelled.
                guard !Task.isCancelled else {
                    waiting.continuation.resume(throwing: Deadline.timedOut)
                    continue
                }
                await recordAndAnswer([waiting], recorder: recorder)
            }
        }
    }
}

/// What a lane records its batches with; kept from one batch to the next.
protocol BatchRecorder {
    func record(mallId: Int64, _ batch: [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>]
    /// False once a failure left it unfit for another batch.
    var isUsable: Bool { get }
}

/// A recorder that is a function and keeps nothing.
private struct RecordingFunction: BatchRecorder {
    let record: OrderBatcher.Record

    func record(mallId: Int64, _ batch: [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>] {
        try await record(mallId, batch)
    }

    var isUsable: Bool { true }
}
