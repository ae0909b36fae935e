import AtriumDomain
import Foundation
import Logging
import PostgresNIO

extension OrderStore {
    /// Records a batch of submissions in one transaction: one round trip per step whatever the
    /// batch's size. Each order gets its own answer; one order's refusal (unknown member, frozen,
    /// suspended merchant, reused number) does not touch its neighbours. A failure of the write
    /// itself throws, and the batcher records the orders one by one.
    ///
    /// Most orders are new, so the first attempt skips looking for recorded numbers: the write
    /// inserts with ON CONFLICT DO NOTHING, and when it comes back short (a retry, a reused
    /// number, or a concurrent twin), or finds a daily total moved since the member lock read it
    /// (another server recording the same member), the batch rolls back and runs again with the
    /// look-up. A lone order that still meets a concurrent change on its third attempt is
    /// UNAVAILABLE: the till retries it under the same number.
    ///
    /// A database deadline cancels the calling task itself (`Deadline.Target.callingTask`): call
    /// this from a task you own, as the batcher's lanes do.
    func record(mallId: Int64, _ submissions: [OrderSubmission], in lane: LaneTransactions) async throws -> [Result<SubmittedOrder, DomainError>] {
        do {
            return try await recordOnce(mallId: mallId, submissions, lookUpRecorded: false, in: lane)
        } catch is OrderRecordedConcurrently {}
        do {
            return try await recordOnce(mallId: mallId, submissions, lookUpRecorded: true, in: lane)
        } catch is OrderRecordedConcurrently where submissions.count == 1 {
            // The other transaction has committed by now: this time the order replays or conflicts.
            do {
                return try await recordOnce(mallId: mallId, submissions, lookUpRecorded: true, in: lane)
            } catch is OrderRecordedConcurrently {
                // Yet another server changed the member's daily totals: the till retries the
                // same order number, which replays or records it once.
                throw DomainError.unavailable("the member's points changed concurrently; retry")
            }
        }
    }

    /// Records one batch on a lane of its own.
    func record(mallId: Int64, _ submissions: [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>] {
        try await db.withLane { lane in try await record(mallId: mallId, submissions, in: lane) }
    }

    private func recordOnce(
        mallId: Int64, _ submissions: [OrderSubmission], lookUpRecorded: Bool, in lane: LaneTransactions
    ) async throws -> [Result<SubmittedOrder, DomainError>] {
        precondition(submissions.count <= Limits.orderBatchSizeMax, "the batcher bounds batches")
        // The batcher's lane owns this task and replaces it when a deadline cancelled it.
        return try await lane.transaction(mallId: mallId, timeout: Database.acquireTimeout, retryingLockWaits: submissions.count == 1) { connection in
            var results = [Result<SubmittedOrder, DomainError>?](repeating: nil, count: submissions.count)
            var fresh: [OrderSubmission] = []
            var freshIndexes: [Int] = []
            let recorded = lookUpRecorded ? try await recordedHashes(mallId: mallId, submissions, on: connection) : [:]
            for (index, submission) in submissions.enumerated() {
                guard let hash = recorded[submission.key] else {
                    fresh.append(submission)
                    freshIndexes.append(index)
                    continue
                }
                results[index] = try await replay(mallId: mallId, submission, recordedHash: hash, on: connection)
            }
            if !fresh.isEmpty {
                var load = try await load(mallId: mallId, submissions: fresh, lock: true, on: connection)
                var write = OrderBatchWrite(mallId: mallId)
                var refused: [Int] = []
                for (position, index) in freshIndexes.enumerated() {
                    switch load.evaluate(at: position) {
                    case .failure(let refusal):
                        results[index] = .failure(refusal)
                        refused.append(index)
                    case .success(let earned): write.append(earned, submissionIndex: index)
                    }
                }
                // A refused order may be a retry of one recorded before the member's state changed
                // (it spent the points, was frozen): that is answered with the recorded order.
                if !lookUpRecorded && !refused.isEmpty {
                    let recordedRefused = try await recordedHashes(mallId: mallId, refused.map { submissions[$0] }, on: connection)
                    for index in refused {
                        guard let hash = recordedRefused[submissions[index].key] else { continue }
                        results[index] = try await replay(mallId: mallId, submissions[index], recordedHash: hash, on: connection)
                    }
                }
                // After this point the orders must be recorded: every check has passed.
                for (index, row) in try await write.run(on: connection, logger: logger) { results[index] = .success(SubmittedOrder(order: row, replayed: false)) }
            }
            return results.map { result in
                guard let result else { preconditionFailure("every submission of a batch gets an answer") }
                return result
            }
        }
    }

    /// The fingerprints of the batch's order numbers that are already recorded.
    private func recordedHashes(mallId: Int64, _ submissions: [OrderSubmission], on connection: PostgresConnection) async throws -> [OrderKey: Data] {
        let statement = ExistingOrdersStatement(mallId: mallId, merchantIds: submissions.map(\.merchantId), orderNumbers: submissions.map(\.input.orderNumber))
        var hashes: [OrderKey: Data] = [:]
        for try await (merchantId, number, hash) in try await connection.execute(statement, logger: logger) {
            hashes[OrderKey(merchantId: merchantId, orderNumber: number)] = hash
        }
        return hashes
    }

    /// A retry of a recorded order gets the order; a different request under its number is refused.
    private func replay(mallId: Int64, _ submission: OrderSubmission, recordedHash: Data, on connection: PostgresConnection) async throws -> Result<SubmittedOrder, DomainError> {
        guard recordedHash == submission.requestHash else {
            return .failure(.alreadyExists("order \(submission.input.orderNumber) was already submitted with different content"))
        }
        guard let order = try await order(mallId: mallId, merchantId: submission.merchantId, target: .number(submission.input.orderNumber), on: connection) else {
            throw DomainError.unavailable("order \(submission.input.orderNumber) vanished; retry")
        }
        // The answer the submission first got, whatever refunds came after it.
        return .success(SubmittedOrder(order: order.asOf(refundsThrough: 0), replayed: true))
    }

    /// Reads what the batch's evaluation needs: merchant contexts and campaigns (from the rules
    /// cache when fresh), members (locked in id order when `lock`), when a campaign has a
    /// budget, its spend (locked in id order when `lock`), and when an order pays with points or
    /// coupons, its member's lots and holds and the coupons (`BatchSpending`).
    func load(mallId: Int64, submissions: [OrderSubmission], lock: Bool, on connection: PostgresConnection) async throws -> OrderBatchLoad {
        let merchantIds = Array(Set(submissions.map(\.merchantId))).sorted()
        let contexts = try await OrderContext.merchants(mallId: mallId, merchantIds: merchantIds, cache: db.rulesCache, on: connection, logger: logger)
        let clocks = submissions.map { submission in
            contexts[submission.merchantId]?.clock(nowMilliseconds: submission.nowMilliseconds, at: submission.paidAtMilliseconds)
        }
        let localDays = zip(submissions, clocks).compactMap { submission, clock in clock?.localDate(atMilliseconds: submission.paidAtMilliseconds).description }
        let members = try await EarningMembers.load(
            mallId: mallId, keys: submissions.map(\.input.member), merchantIds: merchantIds, localDays: Array(Set(localDays)).sorted(),
            lock: lock, on: connection, logger: logger)
        let paidAts = submissions.map(\.paidAtMilliseconds)
        let campaigns = try await RuleStore.openCampaigns(
            mallId: mallId, fromMilliseconds: paidAts.min() ?? 0, toMilliseconds: paidAts.max() ?? 0, lock: lock, cache: db.rulesCache,
            on: connection, logger: logger)
        let paying = submissions.filter(\.input.paysWithPoints)
        let couponCodes = submissions.flatMap(\.input.couponCodes)
        let spending = paying.isEmpty && couponCodes.isEmpty ? BatchSpending.none : try await BatchSpending.load(
            mallId: mallId, memberIds: paying.compactMap { members.memberId(for: $0.input.member) },
            holdIds: paying.map(\.input.holdId).filter { $0 != 0 }, couponCodes: couponCodes, templates: db.couponTemplates, on: connection,
            logger: logger)
        return OrderBatchLoad(submissions: submissions, contexts: contexts, clocks: clocks, members: members, campaigns: campaigns, spending: spending)
    }
}

extension OrderBatchWrite {
    /// Runs the batch's one write; answers (submission index, recorded order) per order.
    func run(on connection: PostgresConnection, logger: Logger) async throws -> [(Int, OrderRow)] {
        guard !isEmpty else { return [] }
        var rows: [(Int, OrderRow)] = []
        rows.reserveCapacity(orders.count)
        var staleDailyRows: Int32 = 0
        for try await (ordinal, orderId, createdAt, stale) in try await connection.execute(finished(), logger: logger) {
            let (index, earned) = orders[Int(ordinal) - 1]
            rows.append((index, earned.row(orderId: orderId, createdAtMilliseconds: createdAt)))
            staleDailyRows = stale
        }
        guard rows.count == orders.count, staleDailyRows == 0 else { throw OrderRecordedConcurrently() }
        // Orders that repaid refund debt (rare): their funders get it in journals of their own.
        if orders.contains(where: { !$0.order.repaid.isEmpty }) {
            let repaidByIndex = Dictionary(uniqueKeysWithValues: orders.map { ($0.submissionIndex, $0.order.repaid) })
            let repayments = rows.compactMap { index, row -> MemberDebtWrites.Repayment? in
                guard let repaid = repaidByIndex[index], !repaid.isEmpty else { return nil }
                return MemberDebtWrites.Repayment(memberId: row.memberId, orderId: row.id, merchantId: row.merchantId, orderNumber: row.orderNumber, repaid: repaid)
            }
            try await MemberDebtWrites.repay(repayments, mallId: mallId, on: connection, logger: logger)
        }
        return rows
    }
}

/// The store's side of a SubmitOrder lane: batches recorded on the lane's connections.
struct LaneRecorder: BatchRecorder {
    let store: OrderStore
    let lane: LaneTransactions

    func record(mallId: Int64, _ batch: [OrderSubmission]) async throws -> [Result<SubmittedOrder, DomainError>] {
        try await store.record(mallId: mallId, batch, in: lane)
    }

    var isUsable: Bool { lane.isUsable }
}
