import AtriumDomain
import Foundation
import NIOCore

/// Collects a batch's earned orders into the arrays of `RecordOrdersStatement`, summing what
/// several orders add to one row (a member's balance, a campaign's spend, a daily total).
struct OrderBatchWrite {
    private(set) var orders: [(submissionIndex: Int, order: EarnedOrder)] = []
    /// `due`: the earliest expiry of the member's new live lots, 0 for none.
    private var memberTotals: [Int64: (earned: Int64, repaid: Int64, due: Int64, spent: Int64)] = [:]
    private var campaignSpend: [Int64: Int64] = [:]
    /// Points added per daily row, and the row's points when the batch read them.
    private var dailyTotals: [DailyRow: (added: Int64, before: Int64)] = [:]
    private var statement: RecordOrdersStatement

    private struct DailyRow: Hashable {
        var memberId: Int64
        var merchantId: Int64
        var localDay: String
    }

    init(mallId: Int64) {
        statement = RecordOrdersStatement(
            mallId: mallId, lotSource: LotRows.Source.order.rawValue, journalKind: JournalKind.earn.rawValue, spendJournalKind: JournalKind.spend.rawValue,
            couponClearingKind: JournalKind.couponSubsidy.rawValue)
    }

    var isEmpty: Bool { orders.isEmpty }
    var mallId: Int64 { statement.mallId }

    mutating func append(_ order: EarnedOrder, submissionIndex: Int) {
        orders.append((submissionIndex, order))
        let ordinal = Int64(orders.count)
        let input = order.submission.input
        let memberId = order.member.memberId
        let total = order.breakdown.totalPoints
        statement.merchantIds.append(order.submission.merchantId)
        statement.orderNumbers.append(input.orderNumber)
        statement.requestHashes.append(ByteBuffer(bytes: order.submission.requestHash))
        statement.memberIds.append(memberId)
        statement.storeIds.append(input.storeId)
        statement.terminalIds.append(input.terminalId)
        statement.amountsMinor.append(input.amountMinor)
        statement.pointsPaidMinor.append(order.pointsPaidMinor)
        statement.couponPaidMinor.append(order.couponPaidMinor)
        statement.eligibleMinor.append(order.breakdown.eligibleMinor)
        statement.linesJSON.append(JSONText.array(input.lines))
        statement.paidAtMilliseconds.append(order.paidAtMilliseconds)
        statement.breakdownJSON.append(JSONText.array(order.storedLines))
        statement.fundingJSON.append(JSONText.array(order.funding))
        statement.earnedPoints.append(total)
        statement.availableAtMilliseconds.append(order.availableAtMilliseconds)
        statement.expiresAtMilliseconds.append(order.expiresAtMilliseconds ?? 0)
        statement.pointsSpent.append(order.pointsSpent)
        statement.spendLinesJSON.append(order.payment == nil ? "[]" : JSONText.array(order.spendLines))
        if let payment = order.payment { appendPayment(payment, ordinal: ordinal, memberId: memberId, merchantId: order.submission.merchantId) }
        statement.couponsJSON.append(order.couponUses.isEmpty ? "[]" : JSONText.array(order.couponUses))
        for use in order.couponUses {
            statement.couponIds.append(use.couponId)
            statement.couponOrderIndexes.append(ordinal)
            statement.couponDiscountsMinor.append(use.discountMinor)
            statement.couponMallSharesMinor.append(use.mallShareMinor)
        }
        for lot in order.lots {
            statement.lotOrderIndexes.append(ordinal)
            statement.lotFunderKinds.append(lot.funder.kind)
            statement.lotFunderIds.append(lot.funder.ownerId)
            statement.lotAmounts.append(lot.points)
            statement.lotRemaining.append(lot.remaining)
        }
        appendPostings(of: Journal.earn(memberId: memberId, byFunder: order.breakdown.pointsByFunder), ordinal: ordinal, journal: 1)
        guard total > 0 else { return }
        let before = memberTotals[memberId] ?? (0, 0, 0, 0)
        let live = order.lots.contains { $0.remaining > 0 }
        let due = live ? Self.earlier(before.due, order.expiresAtMilliseconds ?? 0) : before.due
        memberTotals[memberId] = (before.earned + total, before.repaid + order.repaidDebtPoints, due, before.spent)
        for spend in order.budgetSpend { campaignSpend[spend.campaignId, default: 0] += spend.points }
        // The first order of a row sees what was read; the ones after it, what it left.
        let row = DailyRow(memberId: memberId, merchantId: order.submission.merchantId, localDay: order.localDay)
        let read = order.member.earnedPoints[EarningMember.DailyKey(merchantId: row.merchantId, localDay: row.localDay)] ?? 0
        dailyTotals[row, default: (0, read)].added += total
    }

    /// A payment's draws, its captured hold, its spend journal, and the member's debit.
    private mutating func appendPayment(_ payment: OrderPayment, ordinal: Int64, memberId: Int64, merchantId: Int64) {
        for draw in payment.spend.draws {
            statement.drawOrderIndexes.append(ordinal)
            statement.drawLotIds.append(draw.lotId)
            statement.drawFunderKinds.append(draw.funder.kind)
            statement.drawFunderIds.append(draw.funder.ownerId)
            statement.drawPoints.append(draw.points)
        }
        if let holdId = payment.holdId {
            statement.captureHoldIds.append(holdId)
            statement.captureOrderIndexes.append(ordinal)
        }
        let points = payment.spend.payment.points
        appendPostings(of: Journal.spend(memberId: memberId, merchantId: merchantId, points: points), ordinal: ordinal, journal: 2)
        memberTotals[memberId, default: (0, 0, 0, 0)].spent += points
    }

    /// `journal`: 1 the order's earn journal, 2 its spend journal.
    private mutating func appendPostings(of journal: Journal, ordinal: Int64, journal which: Int16) {
        for (seq, posting) in journal.postings.enumerated() {
            statement.postingOrderIndexes.append(ordinal)
            statement.postingSeqs.append(Int16(seq))
            statement.postingKinds.append(posting.account.kind)
            statement.postingOwners.append(posting.account.ownerId)
            statement.postingPoints.append(posting.points)
            statement.postingJournals.append(which)
        }
    }

    /// The earlier of two expiries, where 0 is never.
    static func earlier(_ a: Int64, _ b: Int64) -> Int64 {
        if a == 0 { return b }
        if b == 0 { return a }
        return min(a, b)
    }

    /// The statement with the summed rows filled in, in a stable order.
    func finished() -> RecordOrdersStatement {
        var s = statement
        for (id, totals) in memberTotals.sorted(by: { $0.key < $1.key }) {
            s.memberIdsToCredit.append(id)
            s.memberEarnedPoints.append(totals.earned)
            s.memberRepaidDebtPoints.append(totals.repaid)
            s.memberExpiryDueMilliseconds.append(totals.due)
            s.memberSpentPoints.append(totals.spent)
        }
        for (id, points) in campaignSpend.sorted(by: { $0.key < $1.key }) {
            s.campaignIds.append(id)
            s.campaignSpentPoints.append(points)
        }
        for (row, points) in dailyTotals {
            s.dailyMemberIds.append(row.memberId)
            s.dailyMerchantIds.append(row.merchantId)
            s.dailyLocalDays.append(row.localDay)
            s.dailyPoints.append(points.added)
            s.dailyPointsBefore.append(points.before)
        }
        return s
    }
}
