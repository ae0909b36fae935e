import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// Orders and refunds: where points are earned and clawed back. Each use case is one
/// transaction shaped as: idempotency check → load and lock (order, then member, then budgeted
/// campaigns in id order) → checks → one block of writes.
public struct OrderStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    // MARK: Quote

    public func quote(mallId: Int64, merchantId: Int64, input: OrderInput, nowMilliseconds: Int64) async throws -> OrderQuote {
        try await db.withMall(mallId) { connection in
            let evaluation = try await evaluate(mallId: mallId, merchantId: merchantId, input: input, nowMilliseconds: nowMilliseconds, lock: false, on: connection)
            return OrderQuote(breakdown: evaluation.breakdown, memberId: evaluation.member.memberId, tierCode: evaluation.member.facts.tierCode)
        }
    }

    // MARK: Submit

    /// Records the order and awards its points once. A retry with the same order number and the
    /// same request returns the recorded order (`replayed`); a different request under the same
    /// number is ALREADY_EXISTS.
    public func submit(mallId: Int64, merchantId: Int64, input: OrderInput, requestHash: Data, nowMilliseconds: Int64) async throws -> (order: OrderRow, replayed: Bool) {
        try await db.withMall(mallId) { connection in
            if let existing = try await existingOrder(mallId: mallId, merchantId: merchantId, number: input.orderNumber, requestHash: requestHash, on: connection) {
                return (existing, true)
            }
            let evaluation = try await evaluate(mallId: mallId, merchantId: merchantId, input: input, nowMilliseconds: nowMilliseconds, lock: true, on: connection)
            let member = evaluation.member
            let breakdown = evaluation.breakdown
            let total = breakdown.totalPoints
            guard total <= EarningEngine.orderPointsMax else {
                throw DomainError.invalid("order.amount_minor", "earns more than the \(EarningEngine.orderPointsMax) points one order may earn")
            }
            let paidAt = evaluation.paidAtMilliseconds
            let availableAt = paidAt + Int64(evaluation.context.pendingDays) * 86_400_000
            let expiresAt = evaluation.context.expiryPolicy.expiresAt(earnedAtMilliseconds: paidAt, clock: evaluation.clock)
            let byFunder = breakdown.pointsByFunder
            let funding = byFunder.map { FundingShare(kind: $0.funder.kind, owner: $0.funder.ownerId, earned: $0.points, clawed: 0) }
            let stored = breakdown.lines.map(StoredEarnLine.init)

            // After this point the order must be recorded: every check has passed.
            let inserted = try await recordOrder(
                mallId: mallId, merchantId: merchantId, input: input, requestHash: requestHash, evaluation: evaluation,
                lines: stored, funding: funding, availableAt: availableAt, expiresAt: expiresAt, on: connection)
            guard let (orderId, createdAt) = inserted else {
                // A concurrent submission of the same number committed first.
                guard let existing = try await existingOrder(mallId: mallId, merchantId: merchantId, number: input.orderNumber, requestHash: requestHash, on: connection) else {
                    throw DomainError.unavailable("order \(input.orderNumber) is being recorded; retry")
                }
                return (existing, true)
            }
            // Built from what was written rather than read back: one round trip less per order.
            let order = OrderRow(
                id: orderId, orderNumber: input.orderNumber, merchantId: merchantId, memberId: member.memberId, memberCode: member.memberCode,
                storeId: input.storeId, terminalId: input.terminalId, amountMinor: input.amountMinor, pointsPaidMinor: input.pointsPaidMinor,
                couponPaidMinor: input.couponPaidMinor, eligibleMinor: breakdown.eligibleMinor, lines: input.lines, paidAtMilliseconds: paidAt,
                breakdown: stored, earnedPoints: total, refundedMinor: 0, clawedBackPoints: 0, availableAtMilliseconds: availableAt,
                createdAtMilliseconds: createdAt, refunds: [])
            return (order, false)
        }
    }

    /// Writes the order, its lots (one per funder, repaying refund debt first), the journal and its
    /// postings, the member's balance, campaign budgets and the daily total, in one statement:
    /// every part hangs on the order insert, so a concurrent duplicate (ON CONFLICT) writes
    /// nothing and returns nil.
    private func recordOrder(
        mallId: Int64, merchantId: Int64, input: OrderInput, requestHash: Data, evaluation: Evaluation, lines: [StoredEarnLine],
        funding: [FundingShare], availableAt: Int64, expiresAt: Int64?, on connection: PostgresConnection
    ) async throws -> (Int64, Int64)? {
        let member = evaluation.member
        let breakdown = evaluation.breakdown
        let byFunder = breakdown.pointsByFunder
        let total = breakdown.totalPoints
        let paidAt = evaluation.paidAtMilliseconds
        var debtLeft = min(member.debtPoints, total)
        let repaid = debtLeft
        var remaining: [Int64] = []
        for share in byFunder {
            let take = min(share.points, debtLeft)
            debtLeft -= take
            remaining.append(share.points - take)
        }
        let journal = Journal.earn(memberId: member.memberId, byFunder: byFunder)
        let spend = breakdown.campaignSpend
        let encoder = JSONEncoder()
        let linesJSON = String(decoding: try encoder.encode(input.lines), as: UTF8.self)
        let breakdownJSON = String(decoding: try encoder.encode(lines), as: UTF8.self)
        let fundingJSON = String(decoding: try encoder.encode(funding), as: UTF8.self)
        let statement = RecordOrderStatement(
            mallId: mallId, merchantId: merchantId, orderNumber: input.orderNumber, requestHash: requestHash, memberId: member.memberId,
            storeId: input.storeId, terminalId: input.terminalId, amountMinor: input.amountMinor, pointsPaidMinor: input.pointsPaidMinor,
            couponPaidMinor: input.couponPaidMinor, eligibleMinor: breakdown.eligibleMinor, linesJSON: linesJSON, paidAtMilliseconds: paidAt,
            breakdownJSON: breakdownJSON, fundingJSON: fundingJSON, totalPoints: total, availableAtMilliseconds: availableAt,
            lotSource: LedgerWriter.LotSource.order.rawValue, expiresAtMilliseconds: expiresAt,
            lotFunderKinds: byFunder.map(\.funder.kind), lotFunderIds: byFunder.map(\.funder.ownerId), lotAmounts: byFunder.map(\.points),
            lotRemaining: remaining, journalKind: JournalKind.earn.rawValue, journalDescription: "order " + input.orderNumber,
            postingSeqs: journal.postings.indices.map { Int16($0) }, postingKinds: journal.postings.map(\.account.kind),
            postingOwners: journal.postings.map(\.account.ownerId), postingPoints: journal.postings.map(\.points),
            repaidDebtPoints: repaid, campaignIds: spend.map(\.campaignId), campaignPoints: spend.map(\.points),
            localDay: evaluation.localDay.description)
        for try await row in try await connection.execute(statement, logger: logger) { return row }
        return nil
    }

    struct Evaluation {
        var context: OrderContext
        var member: MemberEarningFacts
        var breakdown: EarnBreakdown
        var clock: MallClockReading
        var localDay: LocalDate
        var paidAtMilliseconds: Int64
    }

    /// Loads what the rules read (locking the member and budgeted campaigns when `lock`), checks
    /// the preconditions, and evaluates.
    private func evaluate(mallId: Int64, merchantId: Int64, input: OrderInput, nowMilliseconds: Int64, lock: Bool, on connection: PostgresConnection) async throws -> Evaluation {
        let context = try await OrderContext.merchant(mallId: mallId, merchantId: merchantId, on: connection, logger: logger)
        guard context.merchantStatus == .active else { throw DomainError.failedPrecondition("merchant \(merchantId) is suspended") }
        let paidAt = input.paidAtMilliseconds ?? nowMilliseconds
        let clock = context.clock(nowMilliseconds: nowMilliseconds, at: paidAt)
        let localDay = clock.localDate(atMilliseconds: paidAt)
        let member = try await MemberEarningFacts.load(mallId: mallId, member: input.member, merchantId: merchantId, localDay: localDay, lock: lock, on: connection, logger: logger)
        guard !member.frozen else { throw DomainError.failedPrecondition("member \(member.memberCode) is frozen") }
        let campaigns = try await RuleStore.campaigns(mallId: mallId, paidAtMilliseconds: paidAt, lockBudgets: lock, on: connection, logger: logger)
        let facts = OrderFacts(
            merchantId: merchantId, category: context.category, amountMinor: input.amountMinor, pointsPaidMinor: input.pointsPaidMinor,
            couponPaidMinor: input.couponPaidMinor, paidAtMilliseconds: paidAt)
        let breakdown = EarningEngine.evaluate(order: facts, member: member.facts, rule: context.rule, ruleSource: context.ruleSource, campaigns: campaigns, clock: clock)
        return Evaluation(context: context, member: member, breakdown: breakdown, clock: clock, localDay: localDay, paidAtMilliseconds: paidAt)
    }

    private func existingOrder(mallId: Int64, merchantId: Int64, number: String, requestHash: Data, on connection: PostgresConnection) async throws -> OrderRow? {
        var storedHash: Data?
        for try await hash in try await connection.query("""
            SELECT request_hash FROM orders WHERE mall_id = \(mallId) AND merchant_id = \(merchantId) AND order_number = \(number)
            """, logger: logger).decode(Data.self) { storedHash = hash }
        guard let storedHash else { return nil }
        guard storedHash == requestHash else {
            throw DomainError.alreadyExists("order \(number) was already submitted with different content")
        }
        return try await order(mallId: mallId, merchantId: merchantId, target: .number(number), on: connection)
    }

    // MARK: Read

    public func order(mallId: Int64, merchantId: Int64, target: OrderTarget) async throws -> OrderRow? {
        try await db.withMall(mallId) { connection in try await order(mallId: mallId, merchantId: merchantId, target: target, on: connection) }
    }

    public func listOrders(mallId: Int64, merchantId: Int64, memberId: Int64?, beforeId: Int64, limit: Int) async throws -> [OrderRow] {
        try await db.withMall(mallId) { connection in
            var orders = try await decodeOrders(connection.query("""
                SELECT \(unescaped: Self.orderColumns) FROM orders o JOIN members m ON m.mall_id = o.mall_id AND m.id = o.member_id
                WHERE o.mall_id = \(mallId) AND o.merchant_id = \(merchantId)
                  AND (\(beforeId) = 0 OR o.id < \(beforeId)) AND (\(memberId)::bigint IS NULL OR o.member_id = \(memberId))
                ORDER BY o.id DESC LIMIT \(limit)
                """, logger: logger))
            let refunds = try await refunds(mallId: mallId, orderIds: orders.map(\.id), on: connection)
            for i in orders.indices { orders[i].refunds = refunds[orders[i].id] ?? [] }
            return orders
        }
    }

    static let orderColumns = """
        o.id, o.order_number, o.merchant_id, o.member_id, m.member_code, o.store_id, o.terminal_id, o.amount_minor, o.points_paid_minor,
        o.coupon_paid_minor, o.eligible_minor, o.lines::text, epoch_ms(o.paid_at), o.breakdown::text, o.earned_points, o.refunded_minor,
        o.clawed_back_points, epoch_ms(o.available_at), epoch_ms(o.created_at)
        """

    func order(mallId: Int64, merchantId: Int64, target: OrderTarget, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> OrderRow? {
        let lock = forUpdate ? "FOR UPDATE OF o" : ""
        let rows: PostgresRowSequence
        switch target {
        case .id(let id):
            rows = try await connection.query("""
                SELECT \(unescaped: Self.orderColumns) FROM orders o JOIN members m ON m.mall_id = o.mall_id AND m.id = o.member_id
                WHERE o.mall_id = \(mallId) AND o.merchant_id = \(merchantId) AND o.id = \(id) \(unescaped: lock)
                """, logger: logger)
        case .number(let number):
            rows = try await connection.query("""
                SELECT \(unescaped: Self.orderColumns) FROM orders o JOIN members m ON m.mall_id = o.mall_id AND m.id = o.member_id
                WHERE o.mall_id = \(mallId) AND o.merchant_id = \(merchantId) AND o.order_number = \(number) \(unescaped: lock)
                """, logger: logger)
        }
        guard var order = try await decodeOrders(rows).first else { return nil }
        order.refunds = try await refunds(mallId: mallId, orderIds: [order.id], on: connection)[order.id] ?? []
        return order
    }

    func decodeOrders(_ rows: PostgresRowSequence) async throws -> [OrderRow] {
        let decoder = JSONDecoder()
        var orders: [OrderRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            orders.append(OrderRow(
                id: try r[0].decode(Int64.self), orderNumber: try r[1].decode(String.self), merchantId: try r[2].decode(Int64.self),
                memberId: try r[3].decode(Int64.self), memberCode: try r[4].decode(String.self), storeId: try r[5].decode(String.self),
                terminalId: try r[6].decode(String.self), amountMinor: try r[7].decode(Int64.self), pointsPaidMinor: try r[8].decode(Int64.self),
                couponPaidMinor: try r[9].decode(Int64.self), eligibleMinor: try r[10].decode(Int64.self),
                lines: try decoder.decode([OrderLineRow].self, from: Data(try r[11].decode(String.self).utf8)),
                paidAtMilliseconds: try r[12].decode(Int64.self),
                breakdown: try decoder.decode([StoredEarnLine].self, from: Data(try r[13].decode(String.self).utf8)),
                earnedPoints: try r[14].decode(Int64.self), refundedMinor: try r[15].decode(Int64.self),
                clawedBackPoints: try r[16].decode(Int64.self), availableAtMilliseconds: try r[17].decode(Int64.self),
                createdAtMilliseconds: try r[18].decode(Int64.self), refunds: []))
        }
        return orders
    }

    func refunds(mallId: Int64, orderIds: [Int64], on connection: PostgresConnection) async throws -> [Int64: [RefundRow]] {
        guard !orderIds.isEmpty else { return [:] }
        var result: [Int64: [RefundRow]] = [:]
        let rows = try await connection.query("""
            SELECT order_id, refund_id, amount_minor, clawed_back_points, shortfall_points, debt_points, epoch_ms(created_at)
            FROM refunds WHERE mall_id = \(mallId) AND order_id = ANY(\(orderIds)) ORDER BY created_at, refund_id
            """, logger: logger)
        for try await (orderId, refundId, amount, clawed, shortfall, debt, createdAt) in rows.decode((Int64, String, Int64, Int64, Int64, Int64, Int64).self) {
            result[orderId, default: []].append(RefundRow(refundId: refundId, amountMinor: amount, clawedBackPoints: clawed, shortfallPoints: shortfall, debtPoints: debt, createdAtMilliseconds: createdAt))
        }
        return result
    }
}
