import Foundation
import NIOCore
import PostgresNIO

/// The single statement that records a batch of earned orders, prepared once per connection.
///
/// Every order of the batch arrives as parallel arrays (one element per order); lots and postings
/// arrive as arrays tagged with their order's index; member balances, campaign spend and daily
/// totals arrive already summed per row, because one statement may not update a row twice. The
/// order inserts use ON CONFLICT DO NOTHING: when a concurrent transaction recorded one of the
/// numbers first, fewer rows come back than were sent, and the caller rolls the batch back. The
/// same when a daily total is no longer what the batch read (`stale`): this statement's snapshot
/// is newer than the member lock's, and the member lock keeps anyone else from changing them now.
struct RecordOrdersStatement: PostgresPreparedStatement {
    /// (index in the batch, order id, created at, daily totals changed since they were read).
    typealias Row = (Int32, Int64, Int64, Int32)

    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($2::bigint[], $3::text[], $4::bytea[], $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],
                $10::bigint[], $11::bigint[], $12::text[], $13::bigint[], $14::text[], $15::text[], $16::bigint[], $17::bigint[], $18::bigint[])
              WITH ORDINALITY AS t(merchant_id, order_number, request_hash, member_id, store_id, terminal_id, amount_minor, points_paid_minor,
                coupon_paid_minor, eligible_minor, lines, paid_at, breakdown, funding, earned_points, available_at, expires_at, idx)
        ), o AS (
            INSERT INTO orders (mall_id, merchant_id, order_number, request_hash, member_id, store_id, terminal_id, amount_minor,
                points_paid_minor, coupon_paid_minor, eligible_minor, lines, paid_at, breakdown, funding, earned_points, available_at)
            SELECT $1, merchant_id, order_number, request_hash, member_id, store_id, terminal_id, amount_minor, points_paid_minor,
                coupon_paid_minor, eligible_minor, lines::jsonb, from_epoch_ms(paid_at), breakdown::jsonb, funding::jsonb, earned_points,
                from_epoch_ms(available_at)
            FROM input ORDER BY idx
            ON CONFLICT (mall_id, merchant_id, order_number) DO NOTHING
            RETURNING id, merchant_id, order_number, created_at
        ), oi AS (
            SELECT o.id, o.created_at, i.* FROM o JOIN input i ON i.merchant_id = o.merchant_id AND i.order_number = o.order_number
        ), l AS (
            INSERT INTO lots (mall_id, member_id, order_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at,
                available_at, expires_at)
            SELECT $1, oi.member_id, oi.id, t.kind, t.owner, $19, t.amount, t.remaining, from_epoch_ms(oi.paid_at),
                from_epoch_ms(oi.available_at), CASE WHEN oi.expires_at = 0 THEN NULL ELSE from_epoch_ms(oi.expires_at) END
            FROM unnest($20::bigint[], $21::smallint[], $22::bigint[], $23::bigint[], $24::bigint[]) AS t(idx, kind, owner, amount, remaining)
            JOIN oi ON oi.idx = t.idx
        ), j AS (
            INSERT INTO journals (mall_id, kind, member_id, member_points, order_id, merchant_id, description, lines)
            SELECT $1, $25, oi.member_id, oi.earned_points, oi.id, oi.merchant_id, 'order ' || oi.order_number, oi.breakdown::jsonb
            FROM oi WHERE oi.earned_points > 0
            RETURNING id, order_id
        ), p AS (
            INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
            SELECT $1, j.id, t.seq, t.kind, t.owner, t.points
            FROM unnest($26::bigint[], $27::smallint[], $28::smallint[], $29::bigint[], $30::bigint[]) AS t(idx, seq, kind, owner, points)
            JOIN oi ON oi.idx = t.idx JOIN j ON j.order_id = oi.id
        ), m AS (
            UPDATE members SET balance_points = balance_points + t.earned, debt_points = debt_points - t.repaid,
                lifetime_earned_points = lifetime_earned_points + t.earned,
                expiry_due_at = least(members.expiry_due_at, CASE WHEN t.due = 0 THEN NULL ELSE from_epoch_ms(t.due) END)
            FROM unnest($31::bigint[], $32::bigint[], $33::bigint[], $41::bigint[]) AS t(id, earned, repaid, due)
            WHERE members.mall_id = $1 AND members.id = t.id
        ), c AS (
            UPDATE campaigns SET spent_points = spent_points + t.points
            FROM unnest($34::bigint[], $35::bigint[]) AS t(id, points)
            WHERE campaigns.mall_id = $1 AND campaigns.id = t.id
        ), d AS (
            INSERT INTO member_daily_earnings (mall_id, member_id, merchant_id, local_day, points)
            SELECT $1, t.member_id, t.merchant_id, t.local_day::date, t.points
            FROM unnest($36::bigint[], $37::bigint[], $38::text[], $39::bigint[]) AS t(member_id, merchant_id, local_day, points)
            ON CONFLICT (mall_id, member_id, merchant_id, local_day) DO UPDATE SET points = member_daily_earnings.points + excluded.points
        ), stale AS (
            -- A correlated probe per row, so the plan is one primary-key look-up each: as a join,
            -- a plan cached while the table was small scanned all of it on every batch.
            SELECT count(*)::int AS n
            FROM unnest($36::bigint[], $37::bigint[], $38::text[], $40::bigint[]) AS t(member_id, merchant_id, local_day, points_before)
            WHERE coalesce((
                SELECT e.points FROM member_daily_earnings e
                WHERE e.mall_id = $1 AND e.member_id = t.member_id AND e.merchant_id = t.merchant_id AND e.local_day = t.local_day::date
            ), 0) <> t.points_before
        )
        SELECT idx::int, id, epoch_ms(created_at), (SELECT n FROM stale) FROM oi
        """

    var mallId: Int64
    var lotSource: Int16
    var journalKind: Int16

    // One element per order.
    var merchantIds: [Int64] = []
    var orderNumbers: [String] = []
    var requestHashes: [ByteBuffer] = []
    var memberIds: [Int64] = []
    var storeIds: [String] = []
    var terminalIds: [String] = []
    var amountsMinor: [Int64] = []
    var pointsPaidMinor: [Int64] = []
    var couponPaidMinor: [Int64] = []
    var eligibleMinor: [Int64] = []
    var linesJSON: [String] = []
    var paidAtMilliseconds: [Int64] = []
    var breakdownJSON: [String] = []
    var fundingJSON: [String] = []
    var earnedPoints: [Int64] = []
    var availableAtMilliseconds: [Int64] = []
    /// 0: the lots never expire.
    var expiresAtMilliseconds: [Int64] = []

    // One element per lot, per posting: tagged with the order's 1-based index.
    var lotOrderIndexes: [Int64] = []
    var lotFunderKinds: [Int16] = []
    var lotFunderIds: [Int64] = []
    var lotAmounts: [Int64] = []
    var lotRemaining: [Int64] = []
    var postingOrderIndexes: [Int64] = []
    var postingSeqs: [Int16] = []
    var postingKinds: [Int16] = []
    var postingOwners: [Int64] = []
    var postingPoints: [Int64] = []

    // Summed per row.
    var memberIdsToCredit: [Int64] = []
    var memberEarnedPoints: [Int64] = []
    var memberRepaidDebtPoints: [Int64] = []
    /// The earliest expiry of the member's new live lots; 0: none expires (`members.expiry_due_at`).
    var memberExpiryDueMilliseconds: [Int64] = []
    var campaignIds: [Int64] = []
    var campaignSpentPoints: [Int64] = []
    var dailyMemberIds: [Int64] = []
    var dailyMerchantIds: [Int64] = []
    var dailyLocalDays: [String] = []
    var dailyPoints: [Int64] = []
    /// What the batch read for each daily row; the write refuses to add to another value.
    var dailyPointsBefore: [Int64] = []

    var orderCount: Int { merchantIds.count }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 41)
        bindings.append(mallId)
        bindings.append(merchantIds); bindings.append(orderNumbers); bindings.append(requestHashes); bindings.append(memberIds)
        bindings.append(storeIds); bindings.append(terminalIds); bindings.append(amountsMinor); bindings.append(pointsPaidMinor)
        bindings.append(couponPaidMinor); bindings.append(eligibleMinor); bindings.append(linesJSON); bindings.append(paidAtMilliseconds)
        bindings.append(breakdownJSON); bindings.append(fundingJSON); bindings.append(earnedPoints)
        bindings.append(availableAtMilliseconds); bindings.append(expiresAtMilliseconds)
        bindings.append(lotSource); bindings.append(lotOrderIndexes); bindings.append(lotFunderKinds); bindings.append(lotFunderIds)
        bindings.append(lotAmounts); bindings.append(lotRemaining)
        bindings.append(journalKind); bindings.append(postingOrderIndexes); bindings.append(postingSeqs); bindings.append(postingKinds)
        bindings.append(postingOwners); bindings.append(postingPoints)
        bindings.append(memberIdsToCredit); bindings.append(memberEarnedPoints); bindings.append(memberRepaidDebtPoints)
        bindings.append(campaignIds); bindings.append(campaignSpentPoints)
        bindings.append(dailyMemberIds); bindings.append(dailyMerchantIds); bindings.append(dailyLocalDays); bindings.append(dailyPoints)
        bindings.append(dailyPointsBefore); bindings.append(memberExpiryDueMilliseconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
