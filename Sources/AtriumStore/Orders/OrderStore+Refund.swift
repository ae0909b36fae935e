import AtriumDomain
import Foundation
import Logging
import PostgresNIO

extension OrderStore {
    /// Refunds part or all of an order and claws back its points in proportion (see `RefundMath`).
    /// Idempotent on (merchant, refund id). Points come first from the order's own lots (pending
    /// ones included), then from the member's other lots in spending order; what is still missing
    /// becomes debt or a recorded shortfall, as the mall's policy says.
    ///
    /// Five statements in all: lock the order and its member, read the refunds, read the lots,
    /// one write, all prepared (the mall setting and COMMIT besides); a sixth when the refund
    /// leaves the member in debt, to record to whom. The response is built from
    /// what was written rather than read back.
    public func refund(mallId: Int64, merchantId: Int64, target: OrderTarget, refundId: String, scope: RefundScope, requestHash: Data) async throws -> (order: OrderRow, refund: RefundRow, replayed: Bool) {
        try await db.withMall(mallId, limits: .till, planning: .cached) { connection in
            guard let (locked, fundingJSON) = try await order(mallId: mallId, merchantId: merchantId, target: target, lock: ForUpdate.self, on: connection) else {
                throw DomainError.notFound("order")
            }
            var order = locked
            let holder: RefundHolder?
            (order.refunds, holder) = try await refunds(mallId: mallId, of: order, merchantId: merchantId, refundId: refundId, on: connection)
            if let holder {
                guard holder.requestHash == requestHash, holder.orderId == order.id,
                    let row = order.refunds.first(where: { $0.refundId == refundId })
                else { throw DomainError.alreadyExists("refund \(refundId) was already used for a different refund") }
                // The answer the refund first got, whatever refunds came after it.
                return (order.asOf(refundsThrough: row.sequence), row, true)
            }
            let (refundMinor, lines) = try Self.refundAmount(order: order, scope: scope)
            let contexts = try await OrderContext.merchants(mallId: mallId, merchantIds: [merchantId], cache: db.rulesCache, on: connection, logger: logger)
            guard let context = contexts[merchantId] else { throw DomainError.notFound("merchant \(merchantId)") }
            // Points that paid the refunded part go back first, so the clawback below can take from them.
            let returned = try await returnSpentPoints(mallId: mallId, order: order, refundId: refundId, refundMinor: refundMinor, context: context, on: connection)
            let couponsRestored = try await restoreCoupons(mallId: mallId, order: order, refundMinor: refundMinor, on: connection)
            var funding = try JSONDecoder().decode([FundingShare].self, from: Data(fundingJSON.utf8))
            let deltas = Self.clawBack(&funding, order: order, refundMinor: refundMinor)
            let wanted = deltas.reduce(0) { $0 + $1.points }
            let plan = try await clawbackPlan(mallId: mallId, memberId: order.memberId, orderId: order.id, deltas: deltas, policy: context.shortfallPolicy, on: connection)

            // Refunds of one order are serialized by its lock: this one comes after every one read.
            let sequence = Int32(order.refunds.count + 1)

            // After this point the refund must be recorded: every check has passed.
            let statement = RecordRefundStatement(
                mallId: mallId, order: order, refundId: refundId, sequence: sequence, requestHash: requestHash, refundMinor: refundMinor,
                orderClawedBackPoints: wanted, funding: funding, lines: lines, plan: plan, returnedPoints: returned, couponsRestored: couponsRestored)
            var createdAt: Int64?
            for try await value in try await connection.execute(statement, logger: logger) { createdAt = value }
            guard let createdAt else { throw DomainError.unavailable("refund insert returned nothing") }
            try await MemberDebtWrites.add(plan.debtByFunder, mallId: mallId, memberId: order.memberId, on: connection, logger: logger)
            let refund = RefundRow(
                refundId: refundId, sequence: sequence, amountMinor: refundMinor, clawedBackPoints: plan.coveredPoints, shortfallPoints: plan.shortfallPoints,
                debtPoints: plan.debtPoints, expiredPoints: plan.expiredPoints, createdAtMilliseconds: createdAt, returnedPoints: returned,
                couponsRestored: couponsRestored)
            order.refundedMinor += refundMinor
            order.pointsReturned += returned
            order.clawedBackPoints += wanted
            order.lines = lines
            order.refunds.append(refund)
            return (order, refund, false)
        }
    }

    /// Gives back the points that paid the refunded part (`SpendReturnPlan`); answers how many.
    private func returnSpentPoints(
        mallId: Int64, order: OrderRow, refundId: String, refundMinor: Int64, context: OrderContext, on connection: PostgresConnection
    ) async throws -> Int64 {
        let points = SpendReturnPlan.points(
            spentPoints: order.pointsSpent, returnedPoints: order.pointsReturned, refundedBeforeMinor: order.refundedMinor, refundMinor: refundMinor,
            orderAmountMinor: order.amountMinor)
        guard points > 0 else { return 0 }
        var draws: [SpendDraw] = []
        var nowMilliseconds: Int64 = 0
        for try await (lotId, kind, owner, drawn, returned, expiresAt, now) in try await connection.execute(
            SpendDrawsStatement(mallId: mallId, orderId: order.id), logger: logger)
        {
            guard let funder = Funder(kind: kind, ownerId: owner) else { preconditionFailure("funder_kind is checked by the schema") }
            draws.append(SpendDraw(lotId: lotId, funder: funder, points: drawn, lotExpiresAtMilliseconds: expiresAt, returnedPoints: returned))
            nowMilliseconds = now
        }
        let open = try draws.reduce(Int64(0)) { try Arithmetic.add($0, $1.points - $1.returnedPoints) }
        guard open >= points else {
            throw DomainError.failedPrecondition(.ledgerInconsistent, "order \(order.orderNumber)'s spend draws hold \(open) points, not the \(points) its refund returns")
        }
        let plan = SpendReturnPlan(returning: points, of: draws, atMilliseconds: nowMilliseconds, minimumValidityDays: context.returnedPointsValidityDays)
        for try await _ in try await connection.execute(ReturnSpentPointsStatement(
            mallId: mallId, order: (order.id, order.orderNumber, order.memberId, order.merchantId), refundId: refundId, plan: plan), logger: logger) {}
        return points
    }

    /// On the refund that completes a full refund: the order's coupons come back to the member
    /// while still valid (an expired one stays used), and the merchant returns the mall's share
    /// of each discount (a clearing entry), the sale being undone. Answers how many came back.
    private func restoreCoupons(mallId: Int64, order: OrderRow, refundMinor: Int64, on connection: PostgresConnection) async throws -> Int32 {
        guard !order.coupons.isEmpty, order.refundedMinor + refundMinor == order.amountMinor else { return 0 }
        var restored: Int32 = 0
        for try await _ in try await connection.query("""
            UPDATE coupons SET used = false, order_id = NULL, merchant_id = NULL, used_at = NULL, discount_minor = 0, mall_share_minor = 0
            WHERE mall_id = \(mallId) AND id = ANY(\(order.coupons.map(\.couponId))) AND order_id = \(order.id) AND valid_until > now()
            RETURNING id
            """, logger: logger) { restored += 1 }
        let subsidised = order.coupons.filter { $0.mallShareMinor > 0 }
        guard !subsidised.isEmpty else { return restored }
        var written = 0
        for try await _ in try await connection.query("""
            INSERT INTO clearing_entries (mall_id, kind, party_kind, party_id, amount_minor, order_id, coupon_id, created_at)
            SELECT \(mallId), \(JournalKind.couponSubsidyReturned.rawValue), \(Funder.merchant(order.merchantId).kind), \(order.merchantId), -t.share,
                \(order.id), t.id, statement_timestamp()
            FROM unnest(\(subsidised.map(\.couponId))::bigint[], \(subsidised.map(\.mallShareMinor))::bigint[]) AS t(id, share)
            RETURNING 1
            """, logger: logger) { written += 1 }
        guard written == subsidised.count else { throw DomainError.unavailable("the coupons' clearing entries were not all written; retry") }
        return restored
    }

    /// Each funder's share of the clawback (`RefundMath`), added to what it had clawed back.
    static func clawBack(_ funding: inout [FundingShare], order: OrderRow, refundMinor: Int64) -> [(funder: Funder, points: Int64)] {
        var deltas: [(funder: Funder, points: Int64)] = []
        for index in funding.indices {
            let delta = RefundMath.clawback(
                earnedPoints: funding[index].earned, alreadyClawedPoints: funding[index].clawed,
                refundedBeforeMinor: order.refundedMinor, refundMinor: refundMinor, orderAmountMinor: order.amountMinor)
            funding[index].clawed += delta
            if delta > 0 { deltas.append((funding[index].funder, delta)) }
        }
        return deltas
    }

    /// Who already holds a refund id.
    struct RefundHolder {
        var orderId: Int64
        var requestHash: Data
    }

    /// The order's refunds, and who already holds `refundId` (this order or another of the merchant's).
    private func refunds(mallId: Int64, of order: OrderRow, merchantId: Int64, refundId: String, on connection: PostgresConnection) async throws -> ([RefundRow], RefundHolder?) {
        var refunds: [RefundRow] = []
        var holder: RefundHolder?
        let rows = try await connection.execute(
            RefundsForRefundStatement(mallId: mallId, orderId: order.id, merchantId: merchantId, refundId: refundId), logger: logger)
        for try await (orderId, holderMerchantId, id, sequence, hash, amount, clawed, shortfall, debt, expired, createdAt, returned, restored) in rows {
            if holderMerchantId == merchantId && id == refundId { holder = RefundHolder(orderId: orderId, requestHash: hash) }
            if orderId == order.id {
                refunds.append(RefundRow(
                    refundId: id, sequence: sequence, amountMinor: amount, clawedBackPoints: clawed, shortfallPoints: shortfall, debtPoints: debt, expiredPoints: expired,
                    createdAtMilliseconds: createdAt, returnedPoints: returned, couponsRestored: restored))
            }
        }
        return (refunds, holder)
    }

    /// The refund's amount, and the order's lines with refunded quantities updated (`RefundScope.apply`).
    static func refundAmount(order: OrderRow, scope: RefundScope) throws -> (Int64, [OrderLineRow]) {
        let scoped = order.lines.map { RefundScope.Line(quantity: $0.quantity, amountMinor: $0.amountMinor, refundedQuantity: $0.refundedQuantity) }
        let (refundMinor, quantities) = try scope.apply(
            orderNumber: order.orderNumber, orderAmountMinor: order.amountMinor, refundedMinor: order.refundedMinor, lines: scoped)
        var lines = order.lines
        for index in lines.indices { lines[index].refundedQuantity = quantities[index] }
        return (refundMinor, lines)
    }

    /// The member's lots a clawback may take from, and the plan (`ClawbackPlan`).
    private func clawbackPlan(mallId: Int64, memberId: Int64, orderId: Int64, deltas: [(funder: Funder, points: Int64)], policy: RefundShortfallPolicy, on connection: PostgresConnection) async throws -> ClawbackPlan {
        let wanted = deltas.reduce(0) { $0 + $1.points }
        guard wanted > 0 else { return ClawbackPlan(draws: [], expiredDraws: [], returnedByFunder: [], coveredPoints: 0, debtPoints: 0, shortfallPoints: 0) }
        let lots = try await LotRows.decode(connection.execute(
            ClawbackLotsStatement(mallId: mallId, memberId: memberId, orderId: orderId, limit: Int64(Limits.clawbackLotsReadMax)), logger: logger))
        return ClawbackPlan(wanted: deltas, orderId: orderId, lots: lots, policy: policy)
    }
}
