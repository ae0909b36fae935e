import AtriumDomain
import Logging
import PostgresNIO

/// A coupon as stored, with its template's name.
public struct CouponRow: Sendable, Equatable {
    public var id: Int64
    public var templateId: Int64
    public var templateName: String
    public var memberId: Int64
    public var code: String
    public var used: Bool
    public var issuedAtMilliseconds: Int64
    public var validFromMilliseconds: Int64
    public var validUntilMilliseconds: Int64

    public func status(atMilliseconds now: Int64) -> CouponStatus {
        .at(used: used, fromMilliseconds: validFromMilliseconds, untilMilliseconds: validUntilMilliseconds, nowMilliseconds: now)
    }
}

/// What a coupon would do to a basket at a till: the discount, or why it does not apply.
public struct CouponCheck: Sendable {
    public var coupon: CouponRow
    public var template: CouponTemplate
    /// nil: it applies.
    public var refusal: DomainError?
    public var discountMinor: Int64
    public var mallShareMinor: Int64
}

extension CouponStore {
    /// Whom a call issues coupons to.
    public enum Recipients: Sendable {
        /// Each of these, all or none.
        case members([Int64])
        /// The next members of a tier (id order, after `afterMemberId`, `Limits.couponsIssuedPerCallMax`
        /// of them): a bulk issue, batch by batch; members already at the template's limit are passed over.
        case tier(String, afterMemberId: Int64)
    }

    /// Issues one coupon of `templateId` to each recipient at `nowMilliseconds`. The template's row
    /// lock serializes issuing: its total quantity and each member's limit are checked against
    /// what is issued, then the coupons and the new count written. Answers the coupons, and for a
    /// tier the member id to go on after (0: the tier is done).
    public func issue<R: Sendable>(
        mallId: Int64, templateId: Int64, to recipients: Recipients, nowMilliseconds: Int64, request: IdempotentRequest<R>,
        respond: @escaping @Sendable ([CouponRow], _ nextAfterMemberId: Int64) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            guard let row = try await Self.decode(connection.query("""
                SELECT \(unescaped: Self.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id = \(templateId) FOR UPDATE
                """, logger: logger)).first else { throw DomainError.notFound("coupon template \(templateId)") }
            switch recipients {
            case .members(let memberIds):
                precondition((1...Limits.couponsIssuedPerCallMax).contains(memberIds.count) && Set(memberIds).count == memberIds.count)
                var known: Set<Int64> = []
                for try await id in try await connection.query(
                    "SELECT id FROM members WHERE mall_id = \(mallId) AND id = ANY(\(memberIds))", logger: logger
                ).decode(Int64.self) { known.insert(id) }
                if let unknown = memberIds.first(where: { !known.contains($0) }) { throw DomainError.notFound("member \(unknown)") }
                return respond(try await Self.issue(row, mallId: mallId, to: memberIds, passingOverFull: false, nowMilliseconds: nowMilliseconds, on: connection, logger: logger), 0)
            case .tier(let tierCode, let after):
                var memberIds: [Int64] = []
                for try await id in try await connection.query("""
                    SELECT id FROM members WHERE mall_id = \(mallId) AND tier_code = \(tierCode) AND id > \(after) ORDER BY id LIMIT \(Limits.couponsIssuedPerCallMax)
                    """, logger: logger).decode(Int64.self) { memberIds.append(id) }
                let next = memberIds.count == Limits.couponsIssuedPerCallMax ? memberIds.last ?? 0 : 0
                guard !memberIds.isEmpty else { return respond([], 0) }
                return respond(try await Self.issue(row, mallId: mallId, to: memberIds, passingOverFull: true, nowMilliseconds: nowMilliseconds, on: connection, logger: logger), next)
            }
        }
    }

    /// Issues `template`'s coupons to `memberIds` in the caller's transaction, which holds the
    /// template's row lock; with `passingOverFull`, members at the template's limit get none,
    /// otherwise any such member refuses the whole issue. A member listed n times gets n coupons.
    /// Answers the coupons in `memberIds`' order.
    static func issue(
        _ template: CouponTemplateRow, mallId: Int64, to requested: [Int64], passingOverFull: Bool, nowMilliseconds: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [CouponRow] {
        let templateId = template.template.id
        var held: [Int64: Int64] = [:]
        for try await (memberId, count) in try await connection.query("""
            SELECT member_id, count(*) FROM coupons WHERE mall_id = \(mallId) AND template_id = \(templateId) AND member_id = ANY(\(requested))
            GROUP BY member_id
            """, logger: logger).decode((Int64, Int64).self) { held[memberId] = count }
        let memberIds = passingOverFull ? requested.filter { held[$0, default: 0] < Int64(template.template.perMemberLimit) } : requested
        guard !memberIds.isEmpty else { return [] }
        try CouponIssuance.admit(template: template.template, issuedCount: template.issuedCount, memberIds: memberIds, heldByMember: held)
        let window = template.template.validity.window(issuedAtMilliseconds: nowMilliseconds)
        guard window.untilMilliseconds > nowMilliseconds else {
            throw DomainError.failedPrecondition(.couponExpired, "template \(templateId)'s coupons expired at \(window.untilMilliseconds)")
        }
        var generator = SystemRandomNumberGenerator()
        let codes = memberIds.map { _ in CouponCode.make(using: &generator) }
        var issued = try await decodeCoupons(connection.query("""
            INSERT INTO coupons AS c (mall_id, template_id, member_id, code, issued_at, valid_from, valid_until)
            SELECT \(mallId), \(templateId), t.member_id, t.code, from_epoch_ms(\(nowMilliseconds)), from_epoch_ms(\(window.fromMilliseconds)),
                from_epoch_ms(\(window.untilMilliseconds))
            FROM unnest(\(memberIds)::bigint[], \(codes)::text[]) AS t(member_id, code)
            ON CONFLICT (mall_id, code) DO NOTHING
            RETURNING \(unescaped: couponColumns), ''::text
            """, logger: logger)).map { coupon in
                var named = coupon
                named.templateName = template.template.name
                return named
            }
        // 80 random bits: a collision is a one in 10^18 event per pair; the client retries.
        guard issued.count == memberIds.count else { throw DomainError.unavailable("a coupon code was drawn twice; retry") }
        try await connection.query("""
            UPDATE coupon_templates SET issued_count = issued_count + \(Int64(memberIds.count)) WHERE mall_id = \(mallId) AND id = \(templateId)
            """, logger: logger)
        let order = Dictionary(memberIds.enumerated().map { ($1, $0) }, uniquingKeysWith: min)
        issued.sort { (order[$0.memberId, default: 0], $0.id) < (order[$1.memberId, default: 0], $1.id) }
        return issued
    }

    /// A member's coupons in the order issued (keyset on id), those of `status` only when given,
    /// the status read at `nowMilliseconds`.
    public func coupons(mallId: Int64, memberId: Int64, status: CouponStatus?, afterId: Int64, limit: Int, nowMilliseconds: Int64) async throws -> [CouponRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decodeCoupons(connection.query("""
                SELECT \(unescaped: Self.couponColumns), t.name FROM coupons c
                JOIN coupon_templates t ON t.mall_id = c.mall_id AND t.id = c.template_id
                WHERE c.mall_id = \(mallId) AND t.mall_id = \(mallId) AND c.member_id = \(memberId) AND c.id > \(afterId)
                  AND (\(status?.rawValue ?? 0) = 0 OR \(status?.rawValue ?? 0) = CASE
                    WHEN c.used THEN 2 WHEN c.valid_until <= from_epoch_ms(\(nowMilliseconds)) THEN 3
                    WHEN c.valid_from > from_epoch_ms(\(nowMilliseconds)) THEN 4 ELSE 1 END)
                ORDER BY c.id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// What the coupon `code` would do to a basket of `basketMinor` at `merchantId` now; nil for an
    /// unknown code. Writes nothing.
    public func check(mallId: Int64, code: String, merchantId: Int64, basketMinor: Int64, nowMilliseconds: Int64) async throws -> CouponCheck? {
        try await db.withMall(mallId) { connection in
            var found: CouponRow?
            for coupon in try await Self.decodeCoupons(connection.query("""
                SELECT \(unescaped: Self.couponColumns), '' FROM coupons c WHERE c.mall_id = \(mallId) AND c.code = \(code)
                """, logger: logger)) { found = coupon }
            guard var coupon = found else { return nil }
            guard let template = try await Self.decode(connection.query("""
                SELECT \(unescaped: Self.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id = \(coupon.templateId)
                """, logger: logger)).first?.template else { throw DomainError.failedPrecondition(.ledgerInconsistent, "coupon \(coupon.id) names no template") }
            coupon.templateName = template.name
            let context = try await OrderContext.merchant(mallId: mallId, merchantId: merchantId, on: connection, logger: logger)
            let refusal: DomainError? = coupon.used
                ? .failedPrecondition(.couponUsed, "the coupon was used")
                : template.refusal(
                    basketMinor: basketMinor, merchantId: merchantId, category: context.category, issuedAtMilliseconds: coupon.issuedAtMilliseconds,
                    nowMilliseconds: nowMilliseconds)
            let discount = refusal == nil ? template.discountMinor(basketMinor: basketMinor) : 0
            return CouponCheck(coupon: coupon, template: template, refusal: refusal, discountMinor: discount, mallShareMinor: template.mallShareMinor(ofDiscountMinor: discount))
        }
    }

    static let couponColumns = """
        c.id, c.template_id, c.member_id, c.code, c.used, epoch_ms(c.issued_at), epoch_ms(c.valid_from), epoch_ms(c.valid_until)
        """

    /// Rows of `couponColumns` and the template's name.
    static func decodeCoupons(_ rows: PostgresRowSequence) async throws -> [CouponRow] {
        var result: [CouponRow] = []
        for try await (id, templateId, memberId, code, used, issuedAt, from, until, name) in rows.decode((Int64, Int64, Int64, String, Bool, Int64, Int64, Int64, String).self) {
            result.append(CouponRow(
                id: id, templateId: templateId, templateName: name, memberId: memberId, code: code, used: used, issuedAtMilliseconds: issuedAt,
                validFromMilliseconds: from, validUntilMilliseconds: until))
        }
        return result
    }
}

/// A coupon reserved for a payment to come.
public struct CouponHoldRow: Sendable, Equatable {
    public var coupon: CouponRow
    /// nil: released (or never held).
    public var heldUntilMilliseconds: Int64?
    /// The till that holds it; nil: the member app.
    public var merchantId: Int64?
}

extension CouponStore {
    /// Holds the member's coupon `code` for `lifetimeMilliseconds`: under the member's lock (as
    /// every write-off), the coupon must be the member's, unused, valid now, and not held by
    /// another holder; the same holder's hold is renewed.
    public func holdCoupon<R: Sendable>(
        mallId: Int64, member key: HoldStore.MemberKey, merchantId: Int64?, code: String, lifetimeMilliseconds: Int64, nowMilliseconds: Int64,
        request: IdempotentRequest<R>, respond: @escaping @Sendable (CouponHoldRow) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            guard let member = try await HoldStore.lockMember(mallId: mallId, key, on: connection, logger: logger) else { throw DomainError.notFound("member") }
            guard let held = try await Self.heldCoupon(mallId: mallId, code: code, lock: true, on: connection, logger: logger), held.coupon.memberId == member.id else {
                throw DomainError.notFound("coupon \(code)")
            }
            switch held.coupon.status(atMilliseconds: nowMilliseconds) {
            case .used: throw DomainError.failedPrecondition(.couponUsed, "coupon \(code) was used")
            case .expired: throw DomainError.failedPrecondition(.couponExpired, "coupon \(code) expired at \(held.coupon.validUntilMilliseconds)")
            case .notYetValid: throw DomainError.failedPrecondition(.couponNotYetValid, "coupon \(code) is valid from \(held.coupon.validFromMilliseconds)")
            case .valid: break
            }
            if let until = held.heldUntilMilliseconds, until > nowMilliseconds, held.merchantId != merchantId {
                throw DomainError.failedPrecondition(.couponHeld, "coupon \(code) is held for another payment until \(until)")
            }
            let until = min(nowMilliseconds + lifetimeMilliseconds, held.coupon.validUntilMilliseconds)
            try await connection.query("""
                UPDATE coupons SET held_until = from_epoch_ms(\(until)), held_by_merchant_id = \(merchantId)
                WHERE mall_id = \(mallId) AND id = \(held.coupon.id)
                """, logger: logger)
            return respond(CouponHoldRow(coupon: held.coupon, heldUntilMilliseconds: until, merchantId: merchantId))
        }
    }

    /// Ends the holder's own hold on `code` (a retry replays through the request id). A hold the
    /// caller does not hold (another's, or none), or an unknown code, is NOT_FOUND.
    public func releaseCoupon<R: Sendable>(
        mallId: Int64, merchantId: Int64?, code: String, nowMilliseconds: Int64, request: IdempotentRequest<R>, respond: @escaping @Sendable (CouponHoldRow) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            guard let held = try await Self.heldCoupon(mallId: mallId, code: code, lock: true, on: connection, logger: logger),
                held.heldUntilMilliseconds != nil, held.merchantId == merchantId
            else { throw DomainError.notFound("coupon hold \(code)") }
            try await connection.query("""
                UPDATE coupons SET held_until = NULL, held_by_merchant_id = NULL WHERE mall_id = \(mallId) AND id = \(held.coupon.id)
                """, logger: logger)
            return respond(CouponHoldRow(coupon: held.coupon, heldUntilMilliseconds: nil, merchantId: nil))
        }
    }

    static func heldCoupon(mallId: Int64, code: String, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> CouponHoldRow? {
        var found: CouponHoldRow?
        for try await (id, templateId, memberId, code, used, issuedAt, from, until, name, heldUntil, heldBy) in try await connection.query("""
            SELECT \(unescaped: couponColumns), t.name, epoch_ms(c.held_until), c.held_by_merchant_id FROM coupons c
            JOIN coupon_templates t ON t.mall_id = c.mall_id AND t.id = c.template_id
            WHERE c.mall_id = \(mallId) AND t.mall_id = \(mallId) AND c.code = \(code) \(unescaped: lock ? "FOR UPDATE OF c" : "")
            """, logger: logger).decode((Int64, Int64, Int64, String, Bool, Int64, Int64, Int64, String, Int64?, Int64?).self) {
            found = CouponHoldRow(
                coupon: CouponRow(
                    id: id, templateId: templateId, templateName: name, memberId: memberId, code: code, used: used, issuedAtMilliseconds: issuedAt,
                    validFromMilliseconds: from, validUntilMilliseconds: until),
                heldUntilMilliseconds: heldUntil, merchantId: heldBy)
        }
        return found
    }
}
