import PostgresNIO

// The reads behind ListOrders (and, for refunds, behind every order the API returns), prepared:
// a merchant's app pages through orders all day, and parsing and planning each page cost more
// than reading it.

/// Which of a merchant's orders a page holds: a type parameter, so each scope is its own
/// prepared statement with its own plan (one index each; an OR of both would plan for neither).
protocol OrderPageScope: Sendable {
    /// The condition on `o` after mall, merchant and keyset; `$4` is the member when there is one.
    static var condition: String { get }
}

/// All the merchant's orders (`orders_by_merchant`). Both scopes bind the same five values, and
/// PostgreSQL refuses a bound value its statement never names, so this one names `$4` (always 0).
enum AllOrdersOfMerchant: OrderPageScope {
    static var condition: String { "$4::bigint = 0" }
}

/// The merchant's orders of one member (`orders_by_member`).
enum OrdersOfMember: OrderPageScope {
    static var condition: String { "o.member_id = $4" }
}

/// A page of a merchant's orders, newest first, before an order id (keyset).
struct OrdersPageStatement<Scope: OrderPageScope>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    /// Short enough for PostgreSQL's 63-byte names (see `OrderStatement.name`).
    static var name: String { "OrdersPageStatement<\(Scope.self)>" }

    static var sql: String {
        """
        SELECT \(OrderStore.orderColumns) FROM orders o JOIN members m ON m.mall_id = o.mall_id AND m.id = o.member_id
        WHERE o.mall_id = $1 AND o.merchant_id = $2 AND o.id < $3 AND \(Scope.condition)
        ORDER BY o.id DESC LIMIT $5
        """
    }

    var mallId: Int64
    var merchantId: Int64
    /// Int64.max for the first page.
    var beforeId: Int64
    /// 0 with `AllOrdersOfMerchant`.
    var memberId: Int64
    var limit: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(mallId); bindings.append(merchantId); bindings.append(beforeId); bindings.append(memberId)
        bindings.append(limit)
        return bindings
    }

}

/// The refunds of a set of orders, oldest first.
struct RefundsOfOrdersStatement: PostgresPreparedStatement {
    /// (order id, refund id, sequence, amount, clawed back, shortfall, debt, expired, created at, returned, coupons restored).
    typealias Row = (Int64, String, Int32, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int32)

    static let sql = """
        SELECT order_id, refund_id, seq, amount_minor, clawed_back_points, shortfall_points, debt_points, expired_points, epoch_ms(created_at),
            returned_points, coupons_restored
        FROM refunds WHERE mall_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY order_id, seq
        """

    var mallId: Int64
    var orderIds: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(mallId); bindings.append(orderIds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
