import AtriumDomain
import Foundation
import NIOCore
import PostgresNIO

/// The single statement that records a refund, prepared once per connection: it draws the
/// clawed-back points from lots, posts the clawback journal, lowers the member's balance (or
/// raises its debt), updates the order and inserts the refund. The journal and the member's
/// change are skipped when the member loses nothing (`$14` = 0). The caller holds the order's
/// and the member's locks, and every check has passed.
struct RecordRefundStatement: PostgresPreparedStatement {
    /// The refund's created at.
    typealias Row = Int64

    static let sql = """
        WITH d AS (
            UPDATE lots SET remaining_points = remaining_points - t.take
            FROM unnest($18::bigint[], $19::bigint[]) AS t(id, take)
            WHERE lots.mall_id = $1 AND lots.id = t.id
        ), x AS (
            -- Expired lots have nothing remaining: never a row of d as well.
            UPDATE lots SET expired_points = expired_points - t.take
            FROM unnest($24::bigint[], $25::bigint[]) AS t(id, take)
            WHERE lots.mall_id = $1 AND lots.id = t.id
        ), j AS (
            INSERT INTO journals (mall_id, kind, member_id, member_points, order_id, merchant_id, description, lines)
            SELECT $1, $15, $4, $14, $2, $3, $16, $17::jsonb WHERE $14::bigint <> 0
            RETURNING id
        ), p AS (
            INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
            SELECT $1, j.id, t.seq, t.kind, t.owner, t.points
            FROM j, unnest($20::smallint[], $21::smallint[], $22::bigint[], $23::bigint[]) AS t(seq, kind, owner, points)
        ), m AS (
            UPDATE members SET balance_points = balance_points + $14, debt_points = debt_points + $13
            WHERE mall_id = $1 AND id = $4 AND $14::bigint <> 0
        ), o AS (
            UPDATE orders SET refunded_minor = refunded_minor + $7, clawed_back_points = clawed_back_points + $8,
                funding = $9::jsonb, lines = $10::jsonb
            WHERE mall_id = $1 AND id = $2
        )
        INSERT INTO refunds (mall_id, merchant_id, refund_id, order_id, request_hash, amount_minor, clawed_back_points, shortfall_points, debt_points,
            expired_points, seq)
        VALUES ($1, $3, $5, $2, $6, $7, $11, $12, $13, $26, $27)
        RETURNING epoch_ms(created_at)
        """

    var mallId: Int64
    var orderId: Int64
    var merchantId: Int64
    var memberId: Int64
    var refundId: String
    var requestHash: Data
    var refundMinor: Int64
    /// What the order's funders are owed back, before the member's shortfall.
    var orderClawedBackPoints: Int64
    var fundingJSON: String
    var linesJSON: String
    var coveredPoints: Int64
    var shortfallPoints: Int64
    var debtPoints: Int64
    /// The member account's signed change: minus what lots covered and what became debt.
    var memberPoints: Int64
    var journalKind: Int16
    var description: String
    var explanationJSON: String
    var drawLotIds: [Int64]
    var drawPoints: [Int64]
    var postingSeqs: [Int16]
    var postingKinds: [Int16]
    var postingOwners: [Int64]
    var postingPoints: [Int64]
    var expiredLotIds: [Int64]
    var expiredLotPoints: [Int64]
    var expiredPoints: Int64
    var sequence: Int32

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 27)
        bindings.append(mallId); bindings.append(orderId); bindings.append(merchantId); bindings.append(memberId)
        bindings.append(refundId); try bindings.append(requestHash); bindings.append(refundMinor); bindings.append(orderClawedBackPoints)
        bindings.append(fundingJSON); bindings.append(linesJSON)
        bindings.append(coveredPoints); bindings.append(shortfallPoints); bindings.append(debtPoints); bindings.append(memberPoints)
        bindings.append(journalKind); bindings.append(description); bindings.append(explanationJSON); bindings.append(drawLotIds)
        bindings.append(drawPoints)
        bindings.append(postingSeqs); bindings.append(postingKinds); bindings.append(postingOwners); bindings.append(postingPoints)
        bindings.append(expiredLotIds); bindings.append(expiredLotPoints); bindings.append(expiredPoints)
        bindings.append(sequence)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

extension RecordRefundStatement {
    /// The refund of `order` as `plan` draws it; the member loses what lots covered plus new debt,
    /// each funder gets back in the clawback journal what lots covered, and the new debt goes to
    /// the member's debt account (`MemberDebtWrites.add` records to whom it is owed).
    init(
        mallId: Int64, order: OrderRow, refundId: String, sequence: Int32, requestHash: Data, refundMinor: Int64, orderClawedBackPoints: Int64,
        funding: [FundingShare], lines: [OrderLineRow], plan: ClawbackPlan
    ) {
        let journal = Journal.clawback(memberId: order.memberId, byFunder: plan.returnedByFunder, debtPoints: plan.debtPoints)
        let explanation = StoredEarnLine(rule: "clawback", description: "refund \(refundId) of \(refundMinor) minor units", points: -plan.memberPoints, funder: "")
        self.init(
            mallId: mallId, orderId: order.id, merchantId: order.merchantId, memberId: order.memberId, refundId: refundId, requestHash: requestHash,
            refundMinor: refundMinor, orderClawedBackPoints: orderClawedBackPoints, fundingJSON: JSONText.array(funding), linesJSON: JSONText.array(lines),
            coveredPoints: plan.coveredPoints, shortfallPoints: plan.shortfallPoints, debtPoints: plan.debtPoints, memberPoints: -plan.memberPoints,
            journalKind: journal.kind.rawValue, description: "refund \(refundId) of order \(order.orderNumber)", explanationJSON: JSONText.array([explanation]),
            drawLotIds: plan.draws.map(\.lotId), drawPoints: plan.draws.map(\.points),
            postingSeqs: journal.postings.indices.map { Int16($0) }, postingKinds: journal.postings.map(\.account.kind),
            postingOwners: journal.postings.map(\.account.ownerId), postingPoints: journal.postings.map(\.points),
            expiredLotIds: plan.expiredDraws.map(\.lotId), expiredLotPoints: plan.expiredDraws.map(\.points), expiredPoints: plan.expiredPoints,
            sequence: sequence)
    }
}
