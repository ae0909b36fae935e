import Foundation
import PostgresNIO

// The reads of a refund, prepared, run after `OrderStatement` has locked the order and its member:
// each starts after the locks were granted, so it sees what the transactions that held them wrote.

/// The order's refunds, and the refund that already holds the requested refund id (of this order
/// or another), in one round trip: the first answer the response, the second a retry.
struct RefundsForRefundStatement: PostgresPreparedStatement {
    /// (order id, merchant id, refund id, sequence, request hash, amount, clawed back, shortfall, debt, expired, created at, returned,
    /// coupons restored).
    typealias Row = (Int64, Int64, String, Int32, Data, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int32)

    static let sql = """
        SELECT order_id, merchant_id, refund_id, seq, request_hash, amount_minor, clawed_back_points, shortfall_points, debt_points,
            expired_points, epoch_ms(created_at), returned_points, coupons_restored
        FROM refunds WHERE mall_id = $1 AND (order_id = $2 OR (merchant_id = $3 AND refund_id = $4))
        ORDER BY order_id, seq
        """

    var mallId: Int64
    var orderId: Int64
    var merchantId: Int64
    var refundId: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(mallId); bindings.append(orderId); bindings.append(merchantId); bindings.append(refundId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The lots a clawback may take from, in the order it takes them: the refunded order's own lots
/// first (pending ones included, and those whose points expired, which the refund counts
/// against its clawback), then the member's other live lots not yet expired, in spending order.
struct ClawbackLotsStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static let sql = """
        SELECT \(LotRows.columns) FROM lots
        WHERE mall_id = $1 AND member_id = $2
          AND (order_id = $3 AND (remaining_points > 0 OR expired_points > 0)
            OR remaining_points > 0 AND (expires_at IS NULL OR expires_at > now()))
        ORDER BY (order_id IS DISTINCT FROM $3), expires_at NULLS LAST, earned_at, id
        LIMIT $4
        """

    var mallId: Int64
    var memberId: Int64
    var orderId: Int64
    var limit: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(mallId); bindings.append(memberId); bindings.append(orderId); bindings.append(limit)
        return bindings
    }

}
