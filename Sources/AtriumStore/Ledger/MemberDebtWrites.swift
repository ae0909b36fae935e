import AtriumDomain
import Logging
import PostgresNIO

/// The writes that keep `member_debts` (to whom each member's refund debt is owed) in step with
/// the ledger: a refund under the allow-debt policy adds what it could not take, an order that
/// repays debt posts a repayment journal to the funders and lowers their rows. Both are rare,
/// so they are statements of their own beside the batch's or the refund's one write. The
/// caller holds the members' locks.
enum MemberDebtWrites {
    /// One order's repayment: the points `repaid` of its member's debts, owed to their funders.
    struct Repayment {
        var memberId: Int64
        var orderId: Int64
        var merchantId: Int64
        var orderNumber: String
        var repaid: [MemberDebt]
    }

    /// Adds `debts` to what `memberId` owes; a funder's row owed nothing until now starts its
    /// `owed_since` afresh, so repayment goes to the oldest debt first.
    static func add(_ debts: [MemberDebt], mallId: Int64, memberId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        guard !debts.isEmpty else { return }
        try await connection.query("""
            INSERT INTO member_debts AS d (mall_id, member_id, funder_kind, funder_id, points)
            SELECT \(mallId), \(memberId), t.kind, t.owner, t.points
            FROM unnest(\(debts.map(\.funder.kind))::smallint[], \(debts.map(\.funder.ownerId))::bigint[], \(debts.map(\.points))::bigint[]) AS t(kind, owner, points)
            ON CONFLICT (mall_id, member_id, funder_kind, funder_id) DO UPDATE
            SET points = d.points + excluded.points, owed_since = CASE WHEN d.points = 0 THEN excluded.owed_since ELSE d.owed_since END
            """, logger: logger)
    }

    /// One repayment journal per order (debt account down, each funder up by its part), and the
    /// funders' rows lowered by what the whole batch repaid them.
    static func repay(_ repayments: [Repayment], mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        guard !repayments.isEmpty else { return }
        var journalIds: [Int64: Int64] = [:]
        for try await (id, orderId) in try await connection.query("""
            INSERT INTO journals (mall_id, kind, member_id, member_points, order_id, merchant_id, description, created_at)
            SELECT \(mallId), \(JournalKind.repay.rawValue), t.member, 0, t.order_id, t.merchant, t.description, statement_timestamp()
            FROM unnest(\(repayments.map(\.memberId))::bigint[], \(repayments.map(\.orderId))::bigint[], \(repayments.map(\.merchantId))::bigint[],
                \(repayments.map { "debt repaid by order \($0.orderNumber)" })::text[]) AS t(member, order_id, merchant, description)
            RETURNING id, order_id
            """, logger: logger).decode((Int64, Int64).self) {
            journalIds[orderId] = id
        }
        var journals: [Int64] = [], seqs: [Int16] = [], kinds: [Int16] = [], owners: [Int64] = [], points: [Int64] = []
        var owedTotals: [DebtKey: Int64] = [:]
        for repayment in repayments {
            guard let journalId = journalIds[repayment.orderId] else { throw DomainError.unavailable("a debt repayment's journal was not written; retry") }
            let journal = Journal.repayment(memberId: repayment.memberId, byFunder: repayment.repaid.map { ($0.funder, $0.points) })
            for (seq, posting) in journal.postings.enumerated() {
                journals.append(journalId); seqs.append(Int16(seq)); kinds.append(posting.account.kind)
                owners.append(posting.account.ownerId); points.append(posting.points)
            }
            for debt in repayment.repaid { owedTotals[DebtKey(memberId: repayment.memberId, funder: debt.funder), default: 0] += debt.points }
        }
        // RETURNING: without it Citus sends the rows as COPY, which row-level security refuses.
        try await connection.query("""
            INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
            SELECT \(mallId), t.journal, t.seq, t.kind, t.owner, t.points
            FROM unnest(\(journals)::bigint[], \(seqs)::smallint[], \(kinds)::smallint[], \(owners)::bigint[], \(points)::bigint[]) AS t(journal, seq, kind, owner, points)
            RETURNING seq
            """, logger: logger)
        // One row per (member, funder): an UPDATE … FROM changes a row once however many inputs match it.
        let keys = owedTotals.keys.sorted { ($0.memberId, $0.funder.kind, $0.funder.ownerId) < ($1.memberId, $1.funder.kind, $1.funder.ownerId) }
        try await connection.query("""
            UPDATE member_debts d SET points = d.points - t.points
            FROM unnest(\(keys.map(\.memberId))::bigint[], \(keys.map(\.funder.kind))::smallint[], \(keys.map(\.funder.ownerId))::bigint[],
                \(keys.map { owedTotals[$0] ?? 0 })::bigint[]) AS t(member, kind, owner, points)
            WHERE d.mall_id = \(mallId) AND d.member_id = t.member AND d.funder_kind = t.kind AND d.funder_id = t.owner
            """, logger: logger)
    }

    private struct DebtKey: Hashable {
        var memberId: Int64
        var funder: Funder
    }
}
