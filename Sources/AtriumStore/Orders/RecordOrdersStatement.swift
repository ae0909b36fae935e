import Foundation
import NIOCore
import PostgresNIO

/// The single statement that records a batch of earned orders, prepared once per connection: a
/// call of `record_orders` (migrations 15 and 25), which writes orders, the coupons they use,
/// the draws of payments with points and the holds they capture, lots, journals, postings, member balances, campaign spend
/// and daily totals one table at a time inside PostgreSQL (on Citus, on the worker that holds the
/// mall).
///
/// Every order of the batch arrives as parallel arrays (one element per order); lots and postings
/// arrive as arrays tagged with their order's index; member balances, campaign spend and daily
/// totals arrive already summed per row, because one statement may not update a row twice. The
/// order inserts use ON CONFLICT DO NOTHING: when a concurrent transaction recorded one of the
/// numbers first, no row comes back, and the caller rolls the batch back. The same when a daily
/// total is no longer what the batch read (`stale`): the function's snapshot is newer than the
/// member lock's, and the member lock keeps anyone else from changing them now.
struct RecordOrdersStatement: PostgresPreparedStatement {
    /// (index in the batch, order id, created at, daily totals changed since they were read).
    typealias Row = (Int32, Int64, Int64, Int32)

    static let sql = """
        SELECT idx, order_id, created_at_ms, stale
        FROM record_orders($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,
            $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51,
            $52, $53, $54, $55, $56, $57, $58, $59)
        """

    var mallId: Int64
    var lotSource: Int16
    var journalKind: Int16
    var spendJournalKind: Int16
    var couponClearingKind: Int16

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
    /// 0: the order paid no points here.
    var pointsSpent: [Int64] = []
    var spendLinesJSON: [String] = []
    /// The coupons each order used (`CouponUse`), as JSON; "[]" for none.
    var couponsJSON: [String] = []

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
    /// Which of its order's journals a posting belongs to: 1 the earn journal, 2 the spend journal.
    var postingJournals: [Int16] = []
    var drawOrderIndexes: [Int64] = []
    var drawLotIds: [Int64] = []
    var drawFunderKinds: [Int16] = []
    var drawFunderIds: [Int64] = []
    var drawPoints: [Int64] = []
    var captureHoldIds: [Int64] = []
    var captureOrderIndexes: [Int64] = []
    var couponIds: [Int64] = []
    var couponOrderIndexes: [Int64] = []
    var couponDiscountsMinor: [Int64] = []
    var couponMallSharesMinor: [Int64] = []

    // Summed per row.
    var memberIdsToCredit: [Int64] = []
    var memberEarnedPoints: [Int64] = []
    var memberRepaidDebtPoints: [Int64] = []
    /// The earliest expiry of the member's new live lots; 0: none expires (`members.expiry_due_at`).
    var memberExpiryDueMilliseconds: [Int64] = []
    var memberSpentPoints: [Int64] = []
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
        var bindings = PostgresBindings(capacity: 59)
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
        bindings.append(pointsSpent); bindings.append(spendJournalKind); bindings.append(spendLinesJSON); bindings.append(postingJournals)
        bindings.append(memberSpentPoints)
        bindings.append(drawOrderIndexes); bindings.append(drawLotIds); bindings.append(drawFunderKinds); bindings.append(drawFunderIds)
        bindings.append(drawPoints); bindings.append(captureHoldIds); bindings.append(captureOrderIndexes)
        bindings.append(couponIds); bindings.append(couponOrderIndexes); bindings.append(couponDiscountsMinor); bindings.append(couponMallSharesMinor)
        bindings.append(couponClearingKind); bindings.append(couponsJSON)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
