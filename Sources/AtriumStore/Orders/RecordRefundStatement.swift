import AtriumDomain
import Foundation
import NIOCore
import PostgresNIO

/// The single statement that records a refund, prepared once per connection: a call of
/// `record_refund` (migrations 16 and 25), which draws the clawed-back points from lots, posts the
/// clawback journal, lowers the member's balance (or raises its debt), updates the order and
/// inserts the refund. The journal and the member's change are skipped when the member loses
/// nothing (`$14` = 0). The caller holds the order's and the member's locks, and every check
/// has passed.
struct RecordRefundStatement: PostgresPreparedStatement {
    /// The refund's created at.
    typealias Row = Int64

    static let sql = """
        SELECT record_refund($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
            $25, $26, $27, $28, $29)
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
    /// Points that paid the refunded part, given back before the clawback (`ReturnSpentPointsStatement`).
    var returnedPoints: Int64
    var couponsRestored: Int32

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 29)
        bindings.append(mallId); bindings.append(orderId); bindings.append(merchantId); bindings.append(memberId)
        bindings.append(refundId); try bindings.append(requestHash); bindings.append(refundMinor); bindings.append(orderClawedBackPoints)
        bindings.append(fundingJSON); bindings.append(linesJSON)
        bindings.append(coveredPoints); bindings.append(shortfallPoints); bindings.append(debtPoints); bindings.append(memberPoints)
        bindings.append(journalKind); bindings.append(description); bindings.append(explanationJSON); bindings.append(drawLotIds)
        bindings.append(drawPoints)
        bindings.append(postingSeqs); bindings.append(postingKinds); bindings.append(postingOwners); bindings.append(postingPoints)
        bindings.append(expiredLotIds); bindings.append(expiredLotPoints); bindings.append(expiredPoints)
        bindings.append(sequence); bindings.append(returnedPoints); bindings.append(couponsRestored)
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
        funding: [FundingShare], lines: [OrderLineRow], plan: ClawbackPlan, returnedPoints: Int64, couponsRestored: Int32
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
            sequence: sequence, returnedPoints: returnedPoints, couponsRestored: couponsRestored)
    }
}
