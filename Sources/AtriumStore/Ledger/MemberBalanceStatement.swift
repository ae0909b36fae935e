import PostgresNIO

/// A member's balance from its live lots, prepared: a till or app asks for it on every visit,
/// and planning it afresh cost more than running it. Available = live lots past their pending
/// period; pending lots and those expiring within 30 days are summed apart, and so are the points
/// live holds reserve.
struct MemberBalanceStatement: PostgresPreparedStatement {
    /// (debt, lifetime earned, available before debt, pending, expiring within 30 days, held).
    typealias Row = (Int64, Int64, Int64, Int64, Int64, Int64)

    static let expiringWindowMilliseconds: Int64 = 30 * 86_400_000

    static let sql = """
        SELECT m.debt_points, m.lifetime_earned_points,
            coalesce(sum(l.remaining_points) FILTER (WHERE l.available_at <= from_epoch_ms($3)), 0)::bigint,
            coalesce(sum(l.remaining_points) FILTER (WHERE l.available_at > from_epoch_ms($3)), 0)::bigint,
            coalesce(sum(l.remaining_points) FILTER (WHERE l.expires_at <= from_epoch_ms($4)), 0)::bigint,
            (SELECT coalesce(sum(h.points), 0) FROM point_holds h
                WHERE h.mall_id = $1 AND h.member_id = $2 AND h.status = 1 AND h.expires_at > from_epoch_ms($3))::bigint
        FROM members m
        LEFT JOIN lots l ON l.mall_id = m.mall_id AND l.member_id = m.id AND l.remaining_points > 0
            AND (l.expires_at IS NULL OR l.expires_at > from_epoch_ms($3))
        WHERE m.mall_id = $1 AND m.id = $2 AND ($5::bigint = 0 OR m.registered_by_merchant_id = $5
            OR EXISTS (SELECT 1 FROM orders o WHERE o.mall_id = $1 AND o.member_id = m.id AND o.merchant_id = $5))
        GROUP BY m.mall_id, m.id
        """

    var mallId: Int64
    var memberId: Int64
    var nowMilliseconds: Int64
    /// 0, or the merchant that must have registered the member or have an order of theirs.
    var visibleToMerchantId: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(mallId); bindings.append(memberId); bindings.append(nowMilliseconds); bindings.append(nowMilliseconds + Self.expiringWindowMilliseconds)
        bindings.append(visibleToMerchantId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
