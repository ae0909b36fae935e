import PostgresNIO

/// How a merchant names one of its orders: a type parameter, so each key is its own prepared
/// statement with its own index (the primary key, or the order number's unique key).
protocol OrderLookup: Sendable {
    associatedtype Value: PostgresNonThrowingEncodable & Sendable
    static var column: String { get }
}

enum OrderById: OrderLookup {
    typealias Value = Int64
    static var column: String { "o.id" }
}

enum OrderByNumber: OrderLookup {
    typealias Value = String
    static var column: String { "o.order_number" }
}

/// One of a merchant's orders with its member's code and its funding (column 22), prepared:
/// GetOrder and every refund read it. With `ForUpdate` it locks the order and its member in one
/// round trip: the order lock serializes the order's refunds, the member lock every change to
/// the member's lots and balance.
struct OrderStatement<Key: OrderLookup, Lock: LockMode>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    /// Without the module prefixes of the default name, which PostgreSQL would cut at 63 bytes
    /// into one name for two statements.
    static var name: String { "OrderStatement<\(Key.self), \(Lock.self)>" }

    static var sql: String {
        """
        SELECT \(OrderStore.orderColumns), o.funding::text FROM orders o JOIN members m ON m.mall_id = o.mall_id AND m.id = o.member_id
        WHERE o.mall_id = $1 AND o.merchant_id = $2 AND \(Key.column) = $3
        """ + Lock.clause("o, m")
    }

    var mallId: Int64
    var merchantId: Int64
    var key: Key.Value

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(mallId); bindings.append(merchantId); bindings.append(key)
        return bindings
    }

}
