import AtriumDomain
import Logging
import PostgresNIO

/// How one order pays with points: the lots drawn, and the hold it captures.
struct OrderPayment: Sendable {
    var spend: PointsSpend
    /// nil: paid without a hold, on the member's QR token.
    var holdId: Int64?
}

/// What a batch's payments with points read about their members, under the member lock the
/// batch took first: their live lots in spending order (`Limits.spendLotsReadMax` each) and
/// their holds. It changes as the batch's orders spend, so a member paying twice in one batch
/// pays the second time from what the first left.
///
/// Every change to a member's lots, and every new hold, happens under the member's lock, so
/// what is read here stays true until the batch commits. A hold's release does not take that
/// lock: `record_orders` ends captured holds only while still held, and counts one that was
/// released meanwhile as stale, so the batch is read again and that payment refused.
struct BatchSpending: Sendable {
    struct Hold: Sendable {
        var memberId: Int64
        /// The till that made it; nil: the member app.
        var merchantId: Int64?
        var points: Int64
        var stored: PointHoldStatus
        var expiresAtMilliseconds: Int64
    }

    typealias Coupon = (id: Int64, memberId: Int64, used: Bool, issuedAtMilliseconds: Int64, hold: CouponHold?, template: CouponTemplate)

    private var lotsByMember: [Int64: [Lot]] = [:]
    private var holds: [Int64: Hold] = [:]
    /// The coupons the batch's orders name, by code.
    private var coupons: [String: Coupon] = [:]

    static let none = BatchSpending()

    /// For points, one round trip for the lots and one for the holds; for coupons, one for the
    /// coupons and one for their templates; none for what nobody pays with.
    static func load(
        mallId: Int64, memberIds: [Int64], holdIds: [Int64], couponCodes: [String], on connection: PostgresConnection, logger: Logger
    ) async throws -> BatchSpending {
        var spending = BatchSpending()
        if !couponCodes.isEmpty { spending.coupons = try await loadCoupons(mallId: mallId, codes: couponCodes, on: connection, logger: logger) }
        guard !memberIds.isEmpty else { return spending }
        let members = Array(Set(memberIds)).sorted()
        let lots = SpendableLotsStatement(mallId: mallId, memberIds: members, perMemberMax: Int64(Limits.spendLotsReadMax))
        for try await row in try await connection.execute(lots, logger: logger) {
            let (memberId, id, amount, remaining, earnedAt, availableAt, expiresAt, funderKind, funderId, orderId) = row
            guard let funder = Funder(kind: funderKind, ownerId: funderId) else { preconditionFailure("funder_kind is checked by the schema") }
            let lot = Lot(
                id: id, amountPoints: amount, remainingPoints: remaining, earnedAtMilliseconds: earnedAt, availableAtMilliseconds: availableAt,
                expiresAtMilliseconds: expiresAt, funder: funder, orderId: orderId)
            guard lot.isConsistent else { throw DomainError.failedPrecondition(.ledgerInconsistent, "lot \(id) has remaining points outside [0, amount]") }
            spending.lotsByMember[memberId, default: []].append(lot)
        }
        let holdsRead = HoldsForSpendingStatement(mallId: mallId, memberIds: members, holdIds: Array(Set(holdIds)).sorted())
        for try await (id, memberId, merchantId, points, status, expiresAt) in try await connection.execute(holdsRead, logger: logger) {
            guard let stored = PointHoldStatus(rawValue: status) else { preconditionFailure("point_holds.status is checked by the schema") }
            spending.holds[id] = Hold(memberId: memberId, merchantId: merchantId, points: points, stored: stored, expiresAtMilliseconds: expiresAt)
        }
        return spending
    }

    private static func loadCoupons(mallId: Int64, codes: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: Coupon] {
        var found: [(code: String, id: Int64, memberId: Int64, used: Bool, issuedAt: Int64, templateId: Int64, hold: CouponHold?)] = []
        for try await (code, id, memberId, used, issuedAt, templateId, heldUntil, heldBy) in try await connection.query("""
            SELECT code, id, member_id, used, epoch_ms(issued_at), template_id, epoch_ms(held_until), held_by_merchant_id
            FROM coupons WHERE mall_id = \(mallId) AND code = ANY(\(Array(Set(codes)).sorted()))
            """, logger: logger).decode((String, Int64, Int64, Bool, Int64, Int64, Int64?, Int64?).self) {
            found.append((code, id, memberId, used, issuedAt, templateId, heldUntil.map { CouponHold(untilMilliseconds: $0, merchantId: heldBy) }))
        }
        guard !found.isEmpty else { return [:] }
        var templates: [Int64: CouponTemplate] = [:]
        for row in try await CouponStore.decode(connection.query("""
            SELECT \(unescaped: CouponStore.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id = ANY(\(Array(Set(found.map(\.templateId))).sorted()))
            """, logger: logger)) { templates[row.template.id] = row.template }
        var coupons: [String: Coupon] = [:]
        for coupon in found {
            guard let template = templates[coupon.templateId] else { throw DomainError.failedPrecondition(.ledgerInconsistent, "coupon \(coupon.id) names no template") }
            coupons[coupon.code] = (coupon.id, coupon.memberId, coupon.used, coupon.issuedAt, coupon.hold, template)
        }
        return coupons
    }

    /// What `submission`'s coupons take off its bill (`CouponUse.plan`), for the member the batch found.
    func couponUses(for submission: OrderSubmission, memberId: Int64, category: MerchantCategory) throws(DomainError) -> [CouponUse] {
        try CouponUse.plan(
            codes: submission.input.couponCodes, coupons: coupons, memberId: memberId, billMinor: submission.input.amountMinor,
            merchantId: submission.merchantId, category: category, atMilliseconds: submission.nowMilliseconds)
    }

    /// How `submission` pays with points, for the member the batch found; the first check that
    /// fails refuses. A hold is found only by the member it holds for and by whoever may capture
    /// it: the till that made it, or, for the member app's, any till of the mall that has the
    /// member's QR token; anyone else gets NOT_FOUND, as for a hold that does not exist.
    /// `couponPaidMinor` is what its coupons took off: points pay a share of the rest.
    func payment(
        for submission: OrderSubmission, memberId: Int64, debtPoints: Int64, couponPaidMinor: Int64, policy: PointsPaymentPolicy
    ) throws(DomainError) -> OrderPayment {
        let input = submission.input
        let now = submission.nowMilliseconds
        let presentByToken = if case .qrToken = input.member { true } else { false }
        var points = input.pointsToSpend
        var holdId: Int64?
        if input.holdId != 0 {
            guard let hold = holds[input.holdId], hold.memberId == memberId,
                hold.merchantId == submission.merchantId || (hold.merchantId == nil && presentByToken)
            else { throw .notFound("hold \(input.holdId)") }
            switch PointHoldStatus.at(hold.stored, expiresAtMilliseconds: hold.expiresAtMilliseconds, nowMilliseconds: now) {
            case .held: break
            case .captured: throw .failedPrecondition(.holdCaptured, "hold \(input.holdId) already paid an order")
            case .released: throw .failedPrecondition(.holdReleased, "hold \(input.holdId) was released")
            case .expired: throw .failedPrecondition(.holdExpired, "hold \(input.holdId) ran out of time")
            }
            if points == 0 { points = hold.points }
            guard points <= hold.points else { throw .invalid("order.points_to_spend", "exceeds the \(hold.points) points of hold \(input.holdId)") }
            holdId = input.holdId
        } else {
            guard presentByToken else {
                throw .failedPrecondition(.memberNotPresent, "paying with points needs the member present: name them by qr_token, or capture a hold")
            }
        }
        let spend = try PointsSpend.plan(
            points: points, billMinor: input.amountMinor - couponPaidMinor, policy: policy, lots: lotsByMember[memberId] ?? [],
            debtPoints: debtPoints, heldByOthersPoints: try heldPoints(memberId: memberId, except: holdId, atMilliseconds: now), atMilliseconds: now,
            field: "order.points_to_spend")
        return OrderPayment(spend: spend, holdId: holdId)
    }

    /// Applies what an order the batch records used: its coupons, its draws (they leave their
    /// lots), its hold (captured).
    mutating func apply(_ uses: [CouponUse], _ payment: OrderPayment?, memberId: Int64) {
        for use in uses { coupons[use.code]?.used = true }
        guard let payment else { return }
        let taken = Dictionary(payment.spend.draws.map { ($0.lotId, $0.points) }, uniquingKeysWith: +)
        if var lots = lotsByMember[memberId] {
            for index in lots.indices {
                guard let points = taken[lots[index].id] else { continue }
                precondition(lots[index].remainingPoints >= points, "a draw never takes more than its lot holds")
                lots[index].remainingPoints -= points
            }
            lotsByMember[memberId] = lots
        }
        if let holdId = payment.holdId { holds[holdId]?.stored = .captured }
    }

    /// The member's live holds but `except`.
    private func heldPoints(memberId: Int64, except holdId: Int64?, atMilliseconds now: Int64) throws(DomainError) -> Int64 {
        var total: Int64 = 0
        for (id, hold) in holds where hold.memberId == memberId && id != holdId
            && PointHoldStatus.at(hold.stored, expiresAtMilliseconds: hold.expiresAtMilliseconds, nowMilliseconds: now) == .held
        {
            total = try Arithmetic.add(total, hold.points)
        }
        return total
    }
}

/// The live lots of a batch's paying members, each member's in spending order and at most
/// `perMemberMax` of them: a member with more pays from its earliest-expiring ones.
struct SpendableLotsStatement: PostgresPreparedStatement {
    /// (member id, lot id, amount, remaining, earned at, available at, expires at, funder kind, funder id, order id).
    typealias Row = (Int64, Int64, Int64, Int64, Int64, Int64, Int64?, Int16, Int64, Int64?)

    static let sql = """
        SELECT member_id, id, amount_points, remaining_points, epoch_ms(earned_at), epoch_ms(available_at), epoch_ms(expires_at),
            funder_kind, funder_id, order_id
        FROM (
            SELECT l.*, row_number() OVER (PARTITION BY l.member_id ORDER BY l.expires_at NULLS LAST, l.earned_at, l.id) AS place
            FROM lots l WHERE l.mall_id = $1 AND l.member_id = ANY($2::bigint[]) AND l.remaining_points > 0
        ) ranked
        WHERE place <= $3
        ORDER BY member_id, place
        """

    var mallId: Int64
    var memberIds: [Int64]
    var perMemberMax: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(mallId); bindings.append(memberIds); bindings.append(perMemberMax)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The held holds of a batch's paying members, and the holds its orders name whatever their status.
struct HoldsForSpendingStatement: PostgresPreparedStatement {
    /// (id, member id, merchant id, points, status, expires at).
    typealias Row = (Int64, Int64, Int64?, Int64, Int16, Int64)

    static let sql = """
        SELECT id, member_id, merchant_id, points, status, epoch_ms(expires_at) FROM point_holds
        WHERE mall_id = $1 AND (member_id = ANY($2::bigint[]) AND status = 1 OR id = ANY($3::bigint[]))
        """

    var mallId: Int64
    var memberIds: [Int64]
    var holdIds: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(mallId); bindings.append(memberIds); bindings.append(holdIds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
