import AtriumDomain
import Foundation
import Synchronization
import Testing
@testable import AtriumStore

/// The group-commit queue alone, with a recording function in place of the database: how it
/// groups, what it keeps apart, and what each caller hears when a batch fails.
@Suite("SubmitOrder batching")
struct OrderBatcherTests {
    static func submission(_ number: String, merchant: Int64 = 1) -> OrderSubmission {
        let input = OrderInput(
            orderNumber: number, storeId: "", terminalId: "", member: .memberCode("M"), amountMinor: 100, pointsPaidMinor: 0,
            couponPaidMinor: 0, lines: [], paidAtMilliseconds: nil)
        return OrderSubmission(merchantId: merchant, input: input, requestHash: Data([1]), nowMilliseconds: 0)
    }

    static func recorded(_ submission: OrderSubmission) -> SubmittedOrder {
        let row = OrderRow(
            id: 1, orderNumber: submission.input.orderNumber, merchantId: submission.merchantId, memberId: 1, memberCode: "M", storeId: "",
            terminalId: "", amountMinor: 100, pointsPaidMinor: 0, couponPaidMinor: 0, eligibleMinor: 100, lines: [], paidAtMilliseconds: 0,
            breakdown: [], earnedPoints: 0, refundedMinor: 0, clawedBackPoints: 0, availableAtMilliseconds: 0, createdAtMilliseconds: 0, pointsSpent: 0,
            pointsReturned: 0, coupons: [], refunds: [])
        return SubmittedOrder(order: row, replayed: false)
    }

    /// Every batch the recording function was given, by order number.
    final class Calls: Sendable {
        let batches = Mutex<[[String]]>([])
        func add(_ batch: [OrderSubmission]) { batches.withLock { $0.append(batch.map(\.input.orderNumber)) } }
        var all: [[String]] { batches.withLock { $0 } }
    }

    @Test func concurrentSubmissionsShareBatchesAndOneNumberNeverAppearsTwiceInABatch() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1))
        let calls = Calls()
        let numbers = (0..<30).map { $0 < 6 ? "SAME" : "N\($0)" }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for number in numbers {
                group.addTask {
                    try await batcher.submit(mallId: 1, Self.submission(number)) { _, batch in
                        calls.add(batch)
                        try await Task.sleep(for: .milliseconds(100))
                        return batch.map { .success(Self.recorded($0)) }
                    }.order.orderNumber
                }
            }
            var answers: [String] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.sorted() == numbers.sorted())
        let batches = calls.all
        #expect(batches.flatMap { $0 }.sorted() == numbers.sorted(), "each submission recorded exactly once")
        #expect(batches.allSatisfy { Set($0).count == $0.count }, "no batch holds one order number twice: \(batches)")
        #expect(batches.count < numbers.count, "one lane and a slow database: submissions wait and share batches")
        #expect(batches.count >= 6, "six submissions of one number need six batches")
    }

    @Test func aMallHasOneBatchInFlightWhileOtherMallsProceed() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 4))
        let gate = Gate()
        let inFlight = Mutex<[Int64: Int]>([:])
        let overlapped = Mutex(false)
        let record: OrderBatcher.Record = { mallId, batch in
            inFlight.withLock { counts in
                counts[mallId, default: 0] += 1
                if counts[mallId]! > 1 { overlapped.withLock { $0 = true } }
            }
            if mallId == 1 { await gate.wait() } else { try await Task.sleep(for: .milliseconds(5)) }
            inFlight.withLock { $0[mallId, default: 0] -= 1 }
            return batch.map { .success(Self.recorded($0)) }
        }
        // Mall 1 is stuck; mall 2's orders are recorded meanwhile, one batch at a time.
        let stuck = Task { try await batcher.submit(mallId: 1, Self.submission("STUCK"), record: record) }
        let queuedBehind = Task { try await batcher.submit(mallId: 1, Self.submission("BEHIND"), record: record) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 { group.addTask { _ = try await batcher.submit(mallId: 2, Self.submission("M2-\(i)"), record: record) } }
            try await group.waitForAll()
        }
        await gate.open()
        #expect(try await stuck.value.order.orderNumber == "STUCK")
        #expect(try await queuedBehind.value.order.orderNumber == "BEHIND")
        #expect(overlapped.withLock { $0 } == false, "no mall ever had two batches in flight")
    }

    @Test func aFailedWriteIsRetriedOrderByOrderSoOnlyTheBadOrderFails() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1))
        let calls = Calls()
        let numbers = ["A", "B", "BAD", "C", "D"]
        let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
            for number in numbers {
                group.addTask {
                    do {
                        _ = try await batcher.submit(mallId: 1, Self.submission(number)) { _, batch in
                            calls.add(batch)
                            try await Task.sleep(for: .milliseconds(50))
                            if batch.contains(where: { $0.input.orderNumber == "BAD" }) { throw DomainError.failedPrecondition(.checkConstraint, "check constraint") }
                            return batch.map { .success(Self.recorded($0)) }
                        }
                        return (number, true)
                    } catch {
                        return (number, false)
                    }
                }
            }
            var outcomes: [String: Bool] = [:]
            for await (number, succeeded) in group { outcomes[number] = succeeded }
            return outcomes
        }
        #expect(outcomes == ["A": true, "B": true, "BAD": false, "C": true, "D": true])
        #expect(calls.all.contains(["BAD"]), "the bad order was tried alone: \(calls.all)")
    }

    @Test func anUnavailableDatabaseFailsTheBatchWithoutRetryingEachOrder() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1))
        let calls = Calls()
        let failures = await withTaskGroup(of: DomainError?.self) { group in
            for i in 0..<10 {
                group.addTask {
                    do {
                        _ = try await batcher.submit(mallId: 1, Self.submission("U\(i)")) { _, batch in
                            calls.add(batch)
                            try await Task.sleep(for: .milliseconds(50))
                            throw DomainError.unavailable("down")
                        }
                        return nil
                    } catch {
                        return error as? DomainError
                    }
                }
            }
            var failures: [DomainError?] = []
            for await failure in group { failures.append(failure) }
            return failures
        }
        #expect(failures.count == 10 && failures.allSatisfy { $0 == .unavailable("down") })
        #expect(calls.all.flatMap { $0 }.count == 10, "each order was tried once: \(calls.all)")
    }

    @Test func aDeadlineEndsAnOperationThatHangsWithUnavailable() async throws {
        let started = ContinuousClock.now
        for target in [Deadline.Target.child, .callingTask] {
            // In a task of its own: the calling task may be the one cancelled.
            let hung = await Task { try await Deadline.run(.milliseconds(100), cancelling: target) { try await Task.sleep(for: .seconds(60)) } }.result
            #expect(throws: DomainError.unavailable("the database did not answer in time")) { try hung.get() }
            #expect(try await Deadline.run(.milliseconds(100), cancelling: target) { 42 } == 42)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    /// The deadline cancels the lane's task for good; the lane's next batch must not inherit that.
    @Test func aLaneGoesOnAfterADeadlineFiresInIt() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1))
        let started = AsyncStream<Void>.makeStream()
        let record: OrderBatcher.Record = { _, batch in
            if batch.map(\.input.orderNumber) == ["H"] {
                started.continuation.yield()
                try await Deadline.run(.milliseconds(100), cancelling: .callingTask) { try await Task.sleep(for: .seconds(60)) }
            }
            try await Deadline.run(.seconds(10), cancelling: .callingTask) { try await Task.sleep(for: .milliseconds(1)) }
            return batch.map { .success(Self.recorded($0)) }
        }
        let hung = Task { try await batcher.submit(mallId: 1, Self.submission("H"), record: record) }
        for await _ in started.stream { break }
        let next = try await batcher.submit(mallId: 1, Self.submission("N"), record: record)
        #expect(next.order.orderNumber == "N")
        let hungResult = await hung.result
        #expect(throws: DomainError.unavailable("the database did not answer in time")) { try hungResult.get() }
    }

    /// A recorder that records every batch (after the gate opens) and turns unusable after
    /// `usableFor` of them.
    struct CountingRecorder: BatchRecorder {
        /// Which recorder recorded each batch, in order.
        final class Log: Sendable {
            let ids = Mutex<[Int]>([])
        }

        let id: Int
        let log: Log
        let gate: Gate
        let usableFor: Int

        func record(mallId: Int64, _ batch: [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>] {
            await gate.wait()
            log.ids.withLock { $0.append(id) }
            return batch.map { .success(OrderBatcherTests.recorded($0)) }
        }

        var isUsable: Bool { log.ids.withLock { $0.filter { $0 == id }.count } < usableFor }
    }

    /// A lane keeps its recorder (in the store: its two connections) from batch to batch, opens
    /// a new one when it turns unusable, and when one cannot be opened fails only the batch in
    /// hand and goes on.
    @Test func aLaneKeepsItsRecorderUntilItIsUnusableAndSurvivesAFailedOpening() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1, batchSizeMax: 1))
        let gate = Gate()
        let opened = Mutex(0)
        let log = CountingRecorder.Log()
        let open: OrderBatcher.OpenRecorder = { body in
            let id = opened.withLock { $0 += 1; return $0 }
            if id == 2 { throw DomainError.unavailable("no connection") }
            await body(CountingRecorder(id: id, log: log, gate: gate, usableFor: 3))
        }
        let failures = try await withThrowingTaskGroup(of: DomainError?.self) { group in
            for i in 1...8 {
                group.addTask {
                    do {
                        _ = try await batcher.submit(mallId: 1, Self.submission("K\(i)"), open: open)
                        return nil
                    } catch let error as DomainError {
                        return error
                    }
                }
            }
            // Every order queued behind the first batch, then the lane runs through them.
            try await Task.sleep(for: .milliseconds(200))
            await gate.open()
            var failures: [DomainError] = []
            for try await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures == [.unavailable("no connection")])
        #expect(log.ids.withLock { $0 } == [1, 1, 1, 3, 3, 3, 4], "recorders in the order they recorded")
        #expect(opened.withLock { $0 } == 4)
    }

    @Test func aFullQueueRefusesWithResourceExhausted() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 1, queueMax: 2))
        let gate = Gate()
        let started = AsyncStream<Void>.makeStream()
        let record: OrderBatcher.Record = { _, batch in
            started.continuation.yield()
            await gate.wait()
            return batch.map { .success(Self.recorded($0)) }
        }
        async let first = batcher.submit(mallId: 1, Self.submission("F1"), record: record)
        for await _ in started.stream { break }
        // The lane is busy with F1; two more fill the queue; the next is refused.
        async let second = batcher.submit(mallId: 1, Self.submission("F2"), record: record)
        async let third = batcher.submit(mallId: 1, Self.submission("F3"), record: record)
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: DomainError.resourceExhausted("too many orders waiting to be recorded; retry")) {
            try await batcher.submit(mallId: 1, Self.submission("F4"), record: record)
        }
        await gate.open()
        let answered = try await [first, second, third].map(\.order.orderNumber)
        #expect(answered == ["F1", "F2", "F3"])
    }
}

extension OrderBatcherTests {
    /// A mall that floods the server fills only its own share of the queue: its next till is
    /// refused, and another mall's orders are admitted and recorded meanwhile.
    @Test func oneMallFloodingLeavesTheOthersTheirShareOfTheQueue() async throws {
        let batcher = OrderBatcher(options: .init(lanes: 2, queueMax: 100, queuePerMallMax: 2))
        let gate = Gate()
        let started = AsyncStream<Void>.makeStream()
        let record: OrderBatcher.Record = { mallId, batch in
            if mallId == 1 {
                started.continuation.yield()
                await gate.wait()
            }
            return batch.map { .success(Self.recorded($0)) }
        }
        let first = Task { try await batcher.submit(mallId: 1, Self.submission("A1"), record: record) }
        for await _ in started.stream { break }
        let queued = (2...3).map { n in Task { try await batcher.submit(mallId: 1, Self.submission("A\(n)"), record: record) } }
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: DomainError.resourceExhausted("too many orders of this mall waiting to be recorded; retry")) {
            try await batcher.submit(mallId: 1, Self.submission("A4"), record: record)
        }
        // Mall 1 is stuck with its share full; mall 2's tills are answered.
        for n in 1...5 {
            #expect(try await batcher.submit(mallId: 2, Self.submission("B\(n)"), record: record).order.orderNumber == "B\(n)")
        }
        await gate.open()
        #expect(try await first.value.order.orderNumber == "A1")
        for task in queued { _ = try await task.value }
        // The share is free again.
        #expect(try await batcher.submit(mallId: 1, Self.submission("A5"), record: record).order.orderNumber == "A5")
    }
}

/// Holds callers until opened.
actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        guard !isOpen else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func open() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }
}

/// The hand-written JSON of stored lines reads back as what was written, whatever the text.
@Suite("Stored JSON")
struct JSONTextTests {
    @Test func awkwardTextRoundTrips() throws {
        let texts = ["plain", "quote \" and backslash \\", "new\nline\ttab\r", "bell \u{07} nul \u{00} esc \u{1B}", "中文 emoji 🎉", ""]
        let lines = texts.map { StoredEarnLine(rule: $0, description: $0 + $0, points: -42, funder: $0) }
        let decoded = try JSONDecoder().decode([StoredEarnLine].self, from: Data(JSONText.array(lines).utf8))
        #expect(decoded == lines)
        let rows = texts.map { OrderLineRow(sku: $0, category: $0, quantity: 3, amountMinor: Int64.max, refundedQuantity: 1) }
        #expect(try JSONDecoder().decode([OrderLineRow].self, from: Data(JSONText.array(rows).utf8)) == rows)
        let funding = [FundingShare(kind: 2, owner: 7, earned: 100, clawed: 40)]
        #expect(try JSONDecoder().decode([FundingShare].self, from: Data(JSONText.array(funding).utf8)) == funding)
        #expect(JSONText.array([StoredEarnLine]()) == "[]")
    }
}
