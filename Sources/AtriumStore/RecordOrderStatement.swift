import Foundation
import PostgresNIO

/// The single statement that records an earned order (see `OrderStore.recordOrder`), prepared
/// once per connection: parsing and planning it afresh cost more than executing it.
struct RecordOrderStatement: PostgresPreparedStatement {
    typealias Row = (Int64, Int64)

    static let sql = """
        WITH o AS (
            INSERT INTO orders (mall_id, merchant_id, order_number, request_hash, member_id, store_id, terminal_id, amount_minor,
                points_paid_minor, coupon_paid_minor, eligible_minor, lines, paid_at, breakdown, funding, earned_points, available_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, from_epoch_ms($13), $14::jsonb, $15::jsonb, $16, from_epoch_ms($17))
            ON CONFLICT (mall_id, merchant_id, order_number) DO NOTHING
            RETURNING id, created_at
        ), l AS (
            INSERT INTO lots (mall_id, member_id, order_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at, available_at, expires_at)
            SELECT $1, $5, o.id, t.kind, t.owner, $18, t.amount, t.remaining, from_epoch_ms($13), from_epoch_ms($17), from_epoch_ms($19)
            FROM o, unnest($20::smallint[], $21::bigint[], $22::bigint[], $23::bigint[]) AS t(kind, owner, amount, remaining)
        ), j AS (
            INSERT INTO journals (mall_id, kind, member_id, member_points, order_id, merchant_id, description, lines)
            SELECT $1, $24, $5, $16, o.id, $2, $25, $14::jsonb FROM o WHERE $16 > 0
            RETURNING id
        ), p AS (
            INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
            SELECT $1, j.id, t.seq, t.kind, t.owner, t.points
            FROM j, unnest($26::smallint[], $27::smallint[], $28::bigint[], $29::bigint[]) AS t(seq, kind, owner, points)
        ), m AS (
            UPDATE members SET balance_points = balance_points + $16, debt_points = debt_points - $30,
                lifetime_earned_points = lifetime_earned_points + $16
            WHERE mall_id = $1 AND id = $5 AND $16 > 0 AND EXISTS (SELECT 1 FROM o)
        ), c AS (
            UPDATE campaigns SET spent_points = spent_points + t.points
            FROM o, unnest($31::bigint[], $32::bigint[]) AS t(id, points)
            WHERE campaigns.mall_id = $1 AND campaigns.id = t.id
        ), d AS (
            INSERT INTO member_daily_earnings (mall_id, member_id, merchant_id, local_day, points)
            SELECT $1, $5, $2, $33::date, $16 FROM o WHERE $16 > 0
            ON CONFLICT (mall_id, member_id, merchant_id, local_day) DO UPDATE SET points = member_daily_earnings.points + excluded.points
        )
        SELECT id, epoch_ms(created_at) FROM o
        """

    var mallId: Int64
    var merchantId: Int64
    var orderNumber: String
    var requestHash: Data
    var memberId: Int64
    var storeId: String
    var terminalId: String
    var amountMinor: Int64
    var pointsPaidMinor: Int64
    var couponPaidMinor: Int64
    var eligibleMinor: Int64
    var linesJSON: String
    var paidAtMilliseconds: Int64
    var breakdownJSON: String
    var fundingJSON: String
    var totalPoints: Int64
    var availableAtMilliseconds: Int64
    var lotSource: Int16
    var expiresAtMilliseconds: Int64?
    var lotFunderKinds: [Int16]
    var lotFunderIds: [Int64]
    var lotAmounts: [Int64]
    var lotRemaining: [Int64]
    var journalKind: Int16
    var journalDescription: String
    var postingSeqs: [Int16]
    var postingKinds: [Int16]
    var postingOwners: [Int64]
    var postingPoints: [Int64]
    var repaidDebtPoints: Int64
    var campaignIds: [Int64]
    var campaignPoints: [Int64]
    var localDay: String

    func makeBindings() throws -> PostgresBindings {
        var b = PostgresBindings(capacity: 33)
        try b.append(mallId); try b.append(merchantId); try b.append(orderNumber); try b.append(requestHash); try b.append(memberId)
        try b.append(storeId); try b.append(terminalId); try b.append(amountMinor); try b.append(pointsPaidMinor); try b.append(couponPaidMinor)
        try b.append(eligibleMinor); try b.append(linesJSON); try b.append(paidAtMilliseconds); try b.append(breakdownJSON); try b.append(fundingJSON)
        try b.append(totalPoints); try b.append(availableAtMilliseconds); try b.append(lotSource)
        try b.append(expiresAtMilliseconds)
        try b.append(lotFunderKinds); try b.append(lotFunderIds); try b.append(lotAmounts); try b.append(lotRemaining)
        try b.append(journalKind); try b.append(journalDescription)
        try b.append(postingSeqs); try b.append(postingKinds); try b.append(postingOwners); try b.append(postingPoints)
        try b.append(repaidDebtPoints); try b.append(campaignIds); try b.append(campaignPoints); try b.append(localDay)
        return b
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
