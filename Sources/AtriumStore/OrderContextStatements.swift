import PostgresNIO

/// The merchant, its effective rule inputs and its mall's settings, prepared once per connection.
struct MerchantContextStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static let sql = """
        SELECT m.status, m.category, m.pending_days,
               mr.points_per_step, mr.step_amount_minor, mr.minimum_order_minor, mr.per_order_cap_points, mr.per_member_daily_cap_points,
               cr.points_per_step, cr.step_amount_minor, cr.minimum_order_minor, cr.per_order_cap_points, cr.per_member_daily_cap_points,
               mall.time_zone, mall.expiry_policy, mall.expiry_parameter, mall.refund_shortfall_policy
        FROM merchants m
        JOIN malls mall ON mall.id = m.mall_id
        LEFT JOIN merchant_rules mr ON mr.mall_id = m.mall_id AND mr.merchant_id = m.id
        LEFT JOIN category_rules cr ON cr.mall_id = m.mall_id AND cr.category = m.category
        WHERE m.mall_id = $1 AND m.id = $2
        """

    var mallId: Int64
    var merchantId: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        try bindings.append(mallId)
        try bindings.append(merchantId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { row }
}

/// Locks the member named by a member code and reads its earning facts: the till's path.
struct LockMemberByCodeStatement: PostgresPreparedStatement {
    typealias Row = (Int64, String, Bool, Int64, String, Int32, Int64)

    static let sql = MemberEarningFacts.selectSQL + " m.member_code = $4 FOR UPDATE OF m"

    var mallId: Int64
    var merchantId: Int64
    var localDay: String
    var memberCode: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        try bindings.append(mallId)
        try bindings.append(merchantId)
        try bindings.append(localDay)
        try bindings.append(memberCode)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
