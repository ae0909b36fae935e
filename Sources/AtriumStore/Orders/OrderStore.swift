import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// Orders and refunds: where points are earned and clawed back. Each use case is one
/// transaction shaped as: idempotency check → load and lock (order, then members in id order,
/// then open campaigns in id order) → checks → one block of writes. SubmitOrder calls are
/// grouped by `OrderBatcher` so concurrent tills share a transaction.
public struct OrderStore: Sendable {
    let db: Database
    let batcher: OrderBatcher
    var logger: Logger { db.logger }

    public init(db: Database, batching: OrderBatcher.Options = .init()) {
        self.db = db
        self.batcher = OrderBatcher(options: batching)
    }

    // MARK: Quote

    public func quote(mallId: Int64, merchantId: Int64, input: OrderInput, nowMilliseconds: Int64) async throws -> OrderQuote {
        let submission = OrderSubmission(merchantId: merchantId, input: input, requestHash: Data(), nowMilliseconds: nowMilliseconds)
        // The same prepared reads as SubmitOrder's, so the same cached plans (see `Database.Planning`).
        return try await db.withMall(mallId, limits: .till, planning: .cached) { connection in
            var load = try await load(mallId: mallId, submissions: [submission], lock: false, on: connection)
            let earned = try load.evaluate(at: 0).get()
            return OrderQuote(breakdown: earned.breakdown, memberId: earned.member.memberId, tierCode: earned.member.tierCode)
        }
    }

    // MARK: Submit

    /// Records the order and awards its points once. A retry with the same order number and the
    /// same request returns the recorded order (`replayed`); a different request under the same
    /// number is ALREADY_EXISTS.
    public func submit(mallId: Int64, merchantId: Int64, input: OrderInput, requestHash: Data, nowMilliseconds: Int64) async throws -> (order: OrderRow, replayed: Bool) {
        let submission = OrderSubmission(merchantId: merchantId, input: input, requestHash: requestHash, nowMilliseconds: nowMilliseconds)
        let submitted = try await batcher.submit(mallId: mallId, submission) { body in
            try await db.withLane { lane in await body(LaneRecorder(store: self, lane: lane)) }
        }
        return (submitted.order, submitted.replayed)
    }

    // MARK: Read

    public func order(mallId: Int64, merchantId: Int64, target: OrderTarget) async throws -> OrderRow? {
        try await db.withMall(mallId, limits: .till, planning: .cached) { connection in try await order(mallId: mallId, merchantId: merchantId, target: target, on: connection) }
    }

    /// The order with its refunds, unlocked.
    func order(mallId: Int64, merchantId: Int64, target: OrderTarget, on connection: PostgresConnection) async throws -> OrderRow? {
        guard var order = try await order(mallId: mallId, merchantId: merchantId, target: target, lock: NoLock.self, on: connection)?.order else {
            return nil
        }
        order.refunds = try await refunds(mallId: mallId, orderIds: [order.id], on: connection)[order.id] ?? []
        return order
    }

    public func listOrders(mallId: Int64, merchantId: Int64, memberId: Int64?, beforeId: Int64, limit: Int) async throws -> [OrderRow] {
        try await db.withMall(mallId, limits: .till, planning: .cached) { connection in
            let before = beforeId == 0 ? Int64.max : beforeId
            var orders: [OrderRow]
            if let memberId {
                orders = try await decodeOrders(connection.execute(
                    OrdersPageStatement<OrdersOfMember>(mallId: mallId, merchantId: merchantId, beforeId: before, memberId: memberId, limit: Int64(limit)),
                    logger: logger))
            } else {
                orders = try await decodeOrders(connection.execute(
                    OrdersPageStatement<AllOrdersOfMerchant>(mallId: mallId, merchantId: merchantId, beforeId: before, memberId: 0, limit: Int64(limit)),
                    logger: logger))
            }
            let refunds = try await refunds(mallId: mallId, orderIds: orders.map(\.id), on: connection)
            for i in orders.indices { orders[i].refunds = refunds[orders[i].id] ?? [] }
            return orders
        }
    }

    static let orderColumns = """
        o.id, o.order_number, o.merchant_id, o.member_id, m.member_code, o.store_id, o.terminal_id, o.amount_minor, o.points_paid_minor,
        o.coupon_paid_minor, o.eligible_minor, o.lines::text, epoch_ms(o.paid_at), o.breakdown::text, o.earned_points, o.refunded_minor,
        o.clawed_back_points, epoch_ms(o.available_at), epoch_ms(o.created_at), o.points_spent, o.points_returned,
        o.coupons::text
        """

    /// The order without its refunds, and its funding as stored (JSON); with `ForUpdate`, the
    /// order and its member are locked.
    func order<Lock: LockMode>(
        mallId: Int64, merchantId: Int64, target: OrderTarget, lock: Lock.Type, on connection: PostgresConnection
    ) async throws -> (order: OrderRow, fundingJSON: String)? {
        let rows: AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>
        switch target {
        case .id(let id):
            rows = try await connection.execute(OrderStatement<OrderById, Lock>(mallId: mallId, merchantId: merchantId, key: id), logger: logger)
        case .number(let number):
            rows = try await connection.execute(OrderStatement<OrderByNumber, Lock>(mallId: mallId, merchantId: merchantId, key: number), logger: logger)
        }
        for try await row in rows {
            return (try Self.decodeOrder(row, decoder: JSONDecoder()), try row.makeRandomAccess()[22].decode(String.self))
        }
        return nil
    }

    func decodeOrders<Rows: AsyncSequence>(_ rows: Rows) async throws -> [OrderRow] where Rows.Element == PostgresRow {
        let decoder = JSONDecoder()
        var orders: [OrderRow] = []
        for try await row in rows { orders.append(try Self.decodeOrder(row, decoder: decoder)) }
        return orders
    }

    /// An order from `orderColumns`, without its refunds.
    static func decodeOrder(_ row: PostgresRow, decoder: JSONDecoder) throws -> OrderRow {
        let r = row.makeRandomAccess()
        return OrderRow(
            id: try r[0].decode(Int64.self), orderNumber: try r[1].decode(String.self), merchantId: try r[2].decode(Int64.self),
            memberId: try r[3].decode(Int64.self), memberCode: try r[4].decode(String.self), storeId: try r[5].decode(String.self),
            terminalId: try r[6].decode(String.self), amountMinor: try r[7].decode(Int64.self), pointsPaidMinor: try r[8].decode(Int64.self),
            couponPaidMinor: try r[9].decode(Int64.self), eligibleMinor: try r[10].decode(Int64.self),
            lines: try decoder.decode([OrderLineRow].self, from: Data(try r[11].decode(String.self).utf8)),
            paidAtMilliseconds: try r[12].decode(Int64.self),
            breakdown: try decoder.decode([StoredEarnLine].self, from: Data(try r[13].decode(String.self).utf8)),
            earnedPoints: try r[14].decode(Int64.self), refundedMinor: try r[15].decode(Int64.self),
            clawedBackPoints: try r[16].decode(Int64.self), availableAtMilliseconds: try r[17].decode(Int64.self),
            createdAtMilliseconds: try r[18].decode(Int64.self), pointsSpent: try r[19].decode(Int64.self),
            pointsReturned: try r[20].decode(Int64.self),
            coupons: try decoder.decode([CouponUse].self, from: Data(try r[21].decode(String.self).utf8)), refunds: [])
    }

    func refunds(mallId: Int64, orderIds: [Int64], on connection: PostgresConnection) async throws -> [Int64: [RefundRow]] {
        guard !orderIds.isEmpty else { return [:] }
        var result: [Int64: [RefundRow]] = [:]
        for try await (orderId, refundId, sequence, amount, clawed, shortfall, debt, expired, createdAt, returned, restored) in try await connection.execute(RefundsOfOrdersStatement(mallId: mallId, orderIds: orderIds), logger: logger) {
            result[orderId, default: []].append(RefundRow(
                refundId: refundId, sequence: sequence, amountMinor: amount, clawedBackPoints: clawed, shortfallPoints: shortfall, debtPoints: debt,
                expiredPoints: expired, createdAtMilliseconds: createdAt, returnedPoints: returned, couponsRestored: restored))
        }
        return result
    }
}
