import Foundation
import PostgresNIO

// The reads of the till's path, prepared once per connection: parsing and planning them afresh
// cost more than running them. Each reads a whole batch of orders in one round trip.

/// Which of a batch's (merchant, order number) pairs are already recorded, with their fingerprints.
struct ExistingOrdersStatement: PostgresPreparedStatement {
    typealias Row = (Int64, String, Data)

    static let sql = """
        SELECT o.merchant_id, o.order_number, o.request_hash
        FROM orders o JOIN unnest($2::bigint[], $3::text[]) AS t(merchant_id, order_number)
          ON o.merchant_id = t.merchant_id AND o.order_number = t.order_number
        WHERE o.mall_id = $1
        """

    var mallId: Int64
    var merchantIds: [Int64]
    var orderNumbers: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(mallId); bindings.append(merchantIds); bindings.append(orderNumbers)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Merchants with their effective rule inputs (override and category default) and the mall's settings.
struct MerchantContextsStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static let sql = """
        SELECT m.id, m.status, m.category, m.pending_days,
               mr.points_per_step, mr.step_amount_minor, mr.minimum_order_minor, mr.per_order_cap_points, mr.per_member_daily_cap_points,
               cr.points_per_step, cr.step_amount_minor, cr.minimum_order_minor, cr.per_order_cap_points, cr.per_member_daily_cap_points,
               mall.time_zone, mall.expiry_policy, mall.expiry_parameter, mall.refund_shortfall_policy,
               mall.redeem_points, mall.redeem_value_minor, mall.points_payment_max_share_basis_points, mall.points_payment_minimum_points,
               mall.returned_points_validity_days
        FROM merchants m
        JOIN malls mall ON mall.id = m.mall_id
        LEFT JOIN merchant_rules mr ON mr.mall_id = m.mall_id AND mr.merchant_id = m.id
        LEFT JOIN category_rules cr ON cr.mall_id = m.mall_id AND cr.category = m.category
        WHERE m.mall_id = $1 AND m.id = ANY($2::bigint[])
        """

    var mallId: Int64
    var merchantIds: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(mallId); bindings.append(merchantIds)
        return bindings
    }

}

/// The members a batch names (by code, phone or QR token), with tier multiplier and what each
/// already earned at the batch's merchants on the batch's local days. `Lock` adds FOR UPDATE in
/// id order, so concurrent batches take member locks in one order and cannot deadlock.
struct MembersForEarningStatement<Lock: LockMode>: PostgresPreparedStatement {
    typealias Row = (Int64, String, String, Bool, Int64, Int64, String, Int32, [String], [Int64], [String], [Int64])

    /// Short enough for PostgreSQL's 63-byte names (see `OrderStatement.name`).
    static var name: String { "MembersForEarningStatement<\(Lock.self)>" }

    static var sql: String {
        """
        WITH q AS (
            -- A probe per token: a generic plan of `token = ANY($4)` read every token of the mall.
            SELECT t.token, t.member_id FROM unnest($4::text[]) AS k(token)
            JOIN member_qr_tokens t ON t.mall_id = $1 AND t.token = k.token
            WHERE t.expires_at > now()
        ), named AS (
            -- One index lookup per kind of key; an OR of the three would scan every member.
            SELECT id FROM members WHERE mall_id = $1 AND member_code = ANY($2::text[])
            UNION SELECT id FROM members WHERE mall_id = $1 AND phone = ANY($3::text[])
            UNION SELECT member_id FROM q
        )
        SELECT m.id, m.member_code, m.phone, m.frozen, m.debt_points, m.lifetime_earned_points, m.tier_code, coalesce(t.multiplier_basis_points, 10000),
               coalesce((SELECT array_agg(q.token) FROM q WHERE q.member_id = m.id), '{}'),
               coalesce(d.merchant_ids, '{}'), coalesce(d.local_days, '{}'), coalesce(d.points, '{}')
        FROM members m
        LEFT JOIN tiers t ON t.mall_id = $1 AND t.code = m.tier_code
        -- One pass over the member's daily totals for all three arrays: each subquery more is
        -- planned again on every call. Every table is filtered by the bound mall itself, as
        -- Citus needs to route a FOR UPDATE to one shard.
        LEFT JOIN LATERAL (
            SELECT array_agg(e.merchant_id ORDER BY e.merchant_id, e.local_day) AS merchant_ids,
                   array_agg(e.local_day::text ORDER BY e.merchant_id, e.local_day) AS local_days,
                   array_agg(e.points ORDER BY e.merchant_id, e.local_day) AS points
            FROM member_daily_earnings e
            WHERE e.mall_id = $1 AND e.member_id = m.id AND e.merchant_id = ANY($5::bigint[]) AND e.local_day = ANY($6::text[]::date[])
        ) d ON true
        WHERE m.mall_id = $1 AND m.id IN (SELECT id FROM named)
        ORDER BY m.id
        """ + Lock.clause("m")
    }

    var mallId: Int64
    var memberCodes: [String]
    var phones: [String]
    var qrTokens: [String]
    var merchantIds: [Int64]
    var localDays: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(mallId); bindings.append(memberCodes); bindings.append(phones); bindings.append(qrTokens)
        bindings.append(merchantIds); bindings.append(localDays)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The mall's campaigns that are not ended and end after `$2`, newest first, for `RulesCache`
/// (each order's evaluation checks its own instant against the window). Newest first, so that
/// when the bound cuts, it cuts long-finished campaigns rather than the ones just created.
struct CampaignsStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static let sql = """
        SELECT \(RuleStore.campaignColumns) FROM campaigns
        WHERE mall_id = $1 AND ended_at IS NULL AND ends_at > from_epoch_ms($2)
        ORDER BY id DESC LIMIT $3
        """

    var mallId: Int64
    var endingAfterMilliseconds: Int64
    var limit: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(mallId); bindings.append(endingAfterMilliseconds); bindings.append(limit)
        return bindings
    }

}

/// Locks budgeted campaigns in id order and reads their spend under the lock: an award reads
/// the budget and adds to `spent_points`, and one lock order for every batch keeps concurrent
/// batches from deadlocking. A campaign ended meanwhile is not returned. Campaigns without a
/// budget are never locked nor written by orders, so they serialize nothing.
struct LockBudgetsStatement: PostgresPreparedStatement {
    typealias Row = (Int64, Int64)

    static let sql = """
        SELECT id, spent_points FROM campaigns WHERE mall_id = $1 AND id = ANY($2::bigint[]) AND ended_at IS NULL
        ORDER BY id FOR UPDATE
        """

    var mallId: Int64
    var campaignIds: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(mallId); bindings.append(campaignIds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Whether a prepared read locks what it reads: a type parameter, so each mode is its own
/// prepared statement.
protocol LockMode: Sendable {
    /// The clause that ends the statement; `tables` are the aliases to lock, comma separated.
    static func clause(_ tables: String) -> String
}

enum ForUpdate: LockMode {
    static func clause(_ tables: String) -> String { " FOR UPDATE OF " + tables }
}

enum NoLock: LockMode {
    static func clause(_ tables: String) -> String { "" }
}
