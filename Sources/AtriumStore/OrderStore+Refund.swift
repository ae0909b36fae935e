import AtriumDomain
import Foundation
import Logging
import PostgresNIO

extension OrderStore {
    /// Refunds part or all of an order and claws back its points in proportion (see `RefundMath`).
    /// Idempotent on (merchant, refund id). Points come first from the order's own lots (pending
    /// ones included), then from the member's other lots in spending order; what is still missing
    /// becomes debt or a recorded shortfall, as the mall's policy says.
    public func refund(mallId: Int64, merchantId: Int64, target: OrderTarget, refundId: String, scope: RefundScope, requestHash: Data) async throws -> (order: OrderRow, refund: RefundRow, replayed: Bool) {
        try await db.withMall(mallId) { connection in
            guard var order = try await order(mallId: mallId, merchantId: merchantId, target: target, forUpdate: true, on: connection) else {
                throw DomainError.notFound("order")
            }
            if let replay = try await existingRefund(mallId: mallId, merchantId: merchantId, refundId: refundId, requestHash: requestHash, on: connection) {
                guard let refundOrder = try await self.order(mallId: mallId, merchantId: merchantId, target: .id(replay.orderId), on: connection),
                    let row = refundOrder.refunds.first(where: { $0.refundId == refundId })
                else { throw DomainError.unavailable("refund vanished") }
                return (refundOrder, row, true)
            }
            let (refundMinor, lines) = try Self.refundAmount(order: order, scope: scope)
            let context = try await OrderContext.merchant(mallId: mallId, merchantId: merchantId, on: connection, logger: logger)
            // The member's lock serializes every change to its lots and balance.
            try await connection.query("SELECT 1 FROM members WHERE mall_id = \(mallId) AND id = \(order.memberId) FOR UPDATE", logger: logger)
            var funding = try await self.funding(mallId: mallId, orderId: order.id, on: connection)
            var deltas: [(funder: Funder, points: Int64)] = []
            for index in funding.indices {
                let delta = RefundMath.clawback(
                    earnedPoints: funding[index].earned, alreadyClawedPoints: funding[index].clawed,
                    refundedBeforeMinor: order.refundedMinor, refundMinor: refundMinor, orderAmountMinor: order.amountMinor)
                funding[index].clawed += delta
                if delta > 0 { deltas.append((funding[index].funder, delta)) }
            }
            let wanted = deltas.reduce(0) { $0 + $1.points }
            let plan = try await clawbackPlan(mallId: mallId, memberId: order.memberId, orderId: order.id, deltas: deltas, policy: context.shortfallPolicy, on: connection)

            // After this point the refund must be recorded: every check has passed.
            try await LedgerWriter.drawLots(plan.draws, mallId: mallId, on: connection, logger: logger)
            if plan.memberPoints > 0 {
                let explanation = [StoredEarnLine(rule: "clawback", description: "refund \(refundId) of \(refundMinor) minor units", points: -plan.memberPoints, funder: "")]
                try await LedgerWriter.post(
                    .clawback(memberId: order.memberId, byFunder: plan.returnedByFunder), mallId: mallId, memberId: order.memberId, orderId: order.id,
                    merchantId: merchantId, description: "refund \(refundId) of order \(order.orderNumber)", lines: explanation, on: connection, logger: logger)
                try await LedgerWriter.adjustMember(mallId: mallId, memberId: order.memberId, balanceDelta: -plan.memberPoints, debtDelta: plan.debtPoints, earnedDelta: 0, on: connection, logger: logger)
            }
            let fundingJSON = JSONText.array(funding)
            let linesJSON = JSONText.array(lines)
            try await connection.query("""
                UPDATE orders SET refunded_minor = refunded_minor + \(refundMinor), clawed_back_points = clawed_back_points + \(wanted),
                    funding = \(fundingJSON)::jsonb, lines = \(linesJSON)::jsonb
                WHERE mall_id = \(mallId) AND id = \(order.id)
                """, logger: logger)
            try await connection.query("""
                INSERT INTO refunds (mall_id, merchant_id, refund_id, order_id, request_hash, amount_minor, clawed_back_points, shortfall_points, debt_points)
                VALUES (\(mallId), \(merchantId), \(refundId), \(order.id), \(requestHash), \(refundMinor), \(plan.coveredPoints), \(plan.shortfallPoints), \(plan.debtPoints))
                """, logger: logger)
            guard let updated = try await self.order(mallId: mallId, merchantId: merchantId, target: .id(order.id), on: connection),
                let row = updated.refunds.first(where: { $0.refundId == refundId })
            else { throw DomainError.unavailable("refund vanished") }
            order = updated
            return (order, row, false)
        }
    }

    /// The refund's amount, and the order's lines with refunded quantities updated.
    static func refundAmount(order: OrderRow, scope: RefundScope) throws -> (Int64, [OrderLineRow]) {
        let left = order.amountMinor - order.refundedMinor
        guard left > 0 else { throw DomainError.failedPrecondition("order \(order.orderNumber) is already fully refunded") }
        var lines = order.lines
        switch scope {
        case .full:
            for i in lines.indices { lines[i].refundedQuantity = lines[i].quantity }
            return (left, lines)
        case .amount(let amount):
            guard amount <= left else { throw DomainError.invalid("amount_minor", "exceeds the \(left) minor units not yet refunded") }
            return (amount, lines)
        case .lines(let requested):
            guard !lines.isEmpty else { throw DomainError.invalid("lines", "the order has no lines") }
            var total: Int64 = 0
            for (position, item) in requested.enumerated() {
                guard item.index >= 0 && item.index < lines.count else { throw DomainError.invalid("lines.lines[\(position)].line_index", "is not a line of the order") }
                let line = lines[item.index]
                guard item.quantity >= 1 && item.quantity <= line.quantity - line.refundedQuantity else {
                    throw DomainError.invalid("lines.lines[\(position)].quantity", "must be between 1 and the \(line.quantity - line.refundedQuantity) not yet refunded")
                }
                total += RefundMath.lineRefundMinor(lineAmountMinor: line.amountMinor, lineQuantity: line.quantity, refundedQuantityBefore: line.refundedQuantity, refundQuantity: item.quantity)
                lines[item.index].refundedQuantity += item.quantity
            }
            guard total > 0 else { throw DomainError.invalid("lines", "refund nothing of value") }
            guard total <= left else { throw DomainError.failedPrecondition("the lines exceed the \(left) minor units not yet refunded") }
            return (total, lines)
        }
    }

    struct ClawbackPlan {
        var draws: [LotDraw]
        /// What each funder gets back.
        var returnedByFunder: [(funder: Funder, points: Int64)]
        /// Taken from lots.
        var coveredPoints: Int64
        var debtPoints: Int64
        var shortfallPoints: Int64
        /// The member account's decrease: covered plus new debt.
        var memberPoints: Int64 { coveredPoints + debtPoints }
    }

    private func clawbackPlan(mallId: Int64, memberId: Int64, orderId: Int64, deltas: [(funder: Funder, points: Int64)], policy: RefundShortfallPolicy, on connection: PostgresConnection) async throws -> ClawbackPlan {
        let wanted = deltas.reduce(0) { $0 + $1.points }
        guard wanted > 0 else { return ClawbackPlan(draws: [], returnedByFunder: [], coveredPoints: 0, debtPoints: 0, shortfallPoints: 0) }
        let lots = try await LedgerWriter.decodeLots(connection.query("""
            SELECT \(unescaped: LedgerWriter.lotColumns) FROM lots
            WHERE mall_id = \(mallId) AND member_id = \(memberId) AND remaining_points > 0
            ORDER BY (order_id IS DISTINCT FROM \(orderId)), expires_at NULLS LAST, earned_at, id
            LIMIT 10000
            """, logger: logger))
        let own = lots.filter { $0.orderId == orderId }
        let others = lots.filter { $0.orderId != orderId }
        var draws: [LotDraw] = []
        var covered: [Funder: Int64] = [:]
        var missing: Int64 = 0
        for delta in deltas {
            let (ownDraws, uncovered) = LotConsumption.draw(delta.points, from: own.filter { $0.funder == delta.funder }.map { lot in
                var lot = lot
                lot.remainingPoints -= draws.filter { $0.lotId == lot.id }.reduce(0) { $0 + $1.points }
                return lot
            })
            draws += ownDraws
            covered[delta.funder] = delta.points - uncovered
            missing += uncovered
        }
        let (otherDraws, stillMissing) = LotConsumption.draw(missing, from: others)
        draws += otherDraws
        var fromOthers = missing - stillMissing
        let coveredTotal = wanted - stillMissing
        var returned: [(funder: Funder, points: Int64)] = []
        for delta in deltas {
            var back = covered[delta.funder] ?? 0
            switch policy {
            case .allowDebt:
                back = delta.points
            case .stopAtZero:
                let extra = min(delta.points - back, fromOthers)
                fromOthers -= extra
                back += extra
            }
            if back > 0 { returned.append((delta.funder, back)) }
        }
        let debt = policy == .allowDebt ? stillMissing : 0
        let plan = ClawbackPlan(draws: draws, returnedByFunder: returned, coveredPoints: coveredTotal, debtPoints: debt, shortfallPoints: policy == .stopAtZero ? stillMissing : 0)
        assert(plan.returnedByFunder.reduce(0) { $0 + $1.points } == plan.memberPoints, "funders get back exactly what the member loses")
        return plan
    }

    private func funding(mallId: Int64, orderId: Int64, on connection: PostgresConnection) async throws -> [FundingShare] {
        for try await json in try await connection.query("SELECT funding::text FROM orders WHERE mall_id = \(mallId) AND id = \(orderId)", logger: logger).decode(String.self) {
            return try JSONDecoder().decode([FundingShare].self, from: Data(json.utf8))
        }
        throw DomainError.notFound("order \(orderId)")
    }

    private func existingRefund(mallId: Int64, merchantId: Int64, refundId: String, requestHash: Data, on connection: PostgresConnection) async throws -> (orderId: Int64, Void)? {
        let rows = try await connection.query("""
            SELECT order_id, request_hash FROM refunds WHERE mall_id = \(mallId) AND merchant_id = \(merchantId) AND refund_id = \(refundId)
            """, logger: logger)
        for try await (orderId, hash) in rows.decode((Int64, Data).self) {
            guard hash == requestHash else { throw DomainError.alreadyExists("refund \(refundId) was already used for a different refund") }
            return (orderId, ())
        }
        return nil
    }
}
