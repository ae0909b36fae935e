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

    /// One round trip for the paying members' lots and holds and the named coupons together
    /// (`SpendingForBatchStatement`), and one more only for coupon templates this server has
    /// not read before (`CouponTemplateCache`).
    static func load(
        mallId: Int64, memberIds: [Int64], holdIds: [Int64], couponCodes: [String], templates cache: CouponTemplateCache,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> BatchSpending {
        var spending = BatchSpending()
        var found: [(code: String, id: Int64, memberId: Int64, used: Bool, issuedAt: Int64, templateId: Int64, hold: CouponHold?)] = []
        let read = SpendingForBatchStatement(
            mallId: mallId, memberIds: Array(Set(memberIds)).sorted(), perMemberMax: Int64(Limits.spendLotsReadMax), holdIds: Array(Set(holdIds)).sorted(),
            couponCodes: Array(Set(couponCodes)).sorted())
        for try await row in try await connection.execute(read, logger: logger) {
            switch row {
            case .lot(let memberId, let lot):
                guard lot.isConsistent else { throw DomainError.failedPrecondition(.ledgerInconsistent, "lot \(lot.id) has remaining points outside [0, amount]") }
                spending.lotsByMember[memberId, default: []].append(lot)
            case .hold(let id, let hold): spending.holds[id] = hold
            case .coupon(let code, let id, let memberId, let used, let issuedAt, let templateId, let hold):
                found.append((code, id, memberId, used, issuedAt, templateId, hold))
            }
        }
        guard !found.isEmpty else { return spending }
        let templateIds = Set(found.map(\.templateId))
        var templates = cache.templates(mallId: mallId, ids: templateIds)
        let missing = templateIds.subtracting(templates.keys).sorted()
        if !missing.isEmpty {
            let loaded = try await CouponStore.decode(connection.query("""
                SELECT \(unescaped: CouponStore.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id = ANY(\(missing))
                """, logger: logger)).map(\.template)
            cache.store(mallId: mallId, loaded)
            for template in loaded { templates[template.id] = template }
        }
        for coupon in found {
            guard let template = templates[coupon.templateId] else { throw DomainError.failedPrecondition(.ledgerInconsistent, "coupon \(coupon.id) names no template") }
            spending.coupons[coupon.code] = (coupon.id, coupon.memberId, coupon.used, coupon.issuedAt, coupon.hold, template)
        }
        return spending
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

/// What a batch's payments read, in one statement and in no particular order (spending sorts
/// lots itself):
/// - the live lots of its paying members, each member's first `perMemberMax` in spending order
///   (a member with more pays from its earliest-expiring ones), read member by member along
///   `lots_live_by_member`, which holds no spent lot;
/// - their held holds, and the holds its orders name whatever their status: two reads, each by
///   its own index, where one OR would scan the mall's holds;
/// - the coupons its orders name.
/// The reads share the row's columns, told apart by the first.
struct SpendingForBatchStatement: PostgresPreparedStatement {
    enum Row {
        case lot(memberId: Int64, Lot)
        case hold(id: Int64, BatchSpending.Hold)
        case coupon(code: String, id: Int64, memberId: Int64, used: Bool, issuedAtMilliseconds: Int64, templateId: Int64, hold: CouponHold?)
    }

    static let sql = """
        SELECT 1::smallint, l.member_id, l.id, l.amount_points, l.remaining_points, epoch_ms(l.earned_at), epoch_ms(l.available_at),
            epoch_ms(l.expires_at), l.funder_id, l.order_id, l.funder_kind, NULL::text
        FROM unnest($2::bigint[]) AS m(id)
        CROSS JOIN LATERAL (
            SELECT * FROM lots WHERE mall_id = $1 AND member_id = m.id AND remaining_points > 0
            ORDER BY expires_at NULLS LAST, earned_at, id LIMIT $3
        ) l
        UNION ALL
        SELECT 2::smallint, member_id, id, merchant_id, points, epoch_ms(expires_at), NULL, NULL, NULL, NULL, status, NULL
        FROM point_holds WHERE mall_id = $1 AND member_id = ANY($2::bigint[]) AND status = 1
        UNION ALL
        SELECT 2::smallint, member_id, id, merchant_id, points, epoch_ms(expires_at), NULL, NULL, NULL, NULL, status, NULL
        FROM point_holds WHERE mall_id = $1 AND id = ANY($4::bigint[]) AND NOT (member_id = ANY($2::bigint[]) AND status = 1)
        UNION ALL
        SELECT 3::smallint, member_id, id, held_by_merchant_id, template_id, epoch_ms(issued_at), epoch_ms(held_until), NULL, NULL, NULL,
            used::integer::smallint, code
        FROM coupons WHERE mall_id = $1 AND code = ANY($5::text[])
        """

    var mallId: Int64
    var memberIds: [Int64]
    var perMemberMax: Int64
    var holdIds: [Int64]
    var couponCodes: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(mallId); bindings.append(memberIds); bindings.append(perMemberMax); bindings.append(holdIds); bindings.append(couponCodes)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (kind, memberId, id, a, b, c, d, e, f, g, small, code) = try row.decode(
            (Int16, Int64, Int64, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Int16, String?).self)
        switch kind {
        case 1:
            guard let amount = a, let remaining = b, let earnedAt = c, let availableAt = d, let funderId = f,
                let funder = Funder(kind: small, ownerId: funderId)
            else { preconditionFailure("lots' columns are NOT NULL and funder_kind is checked by the schema") }
            return .lot(
                memberId: memberId,
                Lot(
                    id: id, amountPoints: amount, remainingPoints: remaining, earnedAtMilliseconds: earnedAt, availableAtMilliseconds: availableAt,
                    expiresAtMilliseconds: e, funder: funder, orderId: g))
        case 2:
            guard let points = b, let expiresAt = c, let stored = PointHoldStatus(rawValue: small) else {
                preconditionFailure("point_holds' columns are NOT NULL and its status is checked by the schema")
            }
            return .hold(id: id, BatchSpending.Hold(memberId: memberId, merchantId: a, points: points, stored: stored, expiresAtMilliseconds: expiresAt))
        default:
            guard let templateId = b, let issuedAt = c, let code else { preconditionFailure("coupons' columns are NOT NULL") }
            return .coupon(
                code: code, id: id, memberId: memberId, used: small != 0, issuedAtMilliseconds: issuedAt, templateId: templateId,
                hold: d.map { CouponHold(untilMilliseconds: $0, merchantId: a) })
        }
    }
}
