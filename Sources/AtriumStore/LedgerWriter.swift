import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// Writes journals with their postings, lots, and the member's cached balance. Callers hold the
/// member's row lock, which serializes every change to that member's lots and balance.
enum LedgerWriter {
    enum LotSource: Int16 {
        case order = 1
        case behaviour = 2
        case adjustment = 3
        case exchange = 4
    }

    /// Inserts the journal and its postings in one statement; returns the journal id.
    @discardableResult
    static func post(
        _ journal: Journal, mallId: Int64, memberId: Int64, orderId: Int64?, merchantId: Int64?, description: String,
        lines: [StoredEarnLine], on connection: PostgresConnection, logger: Logger
    ) async throws -> Int64 {
        let memberPoints = journal.postings.filter { $0.account == .member(memberId) }.reduce(0) { $0 + $1.points }
        let linesJSON = JSONText.array(lines)
        let seqs = journal.postings.indices.map { Int16($0) }
        let kinds = journal.postings.map(\.account.kind)
        let owners = journal.postings.map(\.account.ownerId)
        let points = journal.postings.map(\.points)
        let rows = try await connection.query("""
            WITH j AS (
                INSERT INTO journals (mall_id, kind, member_id, member_points, order_id, merchant_id, description, lines)
                VALUES (\(mallId), \(journal.kind.rawValue), \(memberId), \(memberPoints), \(orderId), \(merchantId), \(description), \(linesJSON)::jsonb)
                RETURNING id
            ), p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT \(mallId), j.id, t.seq, t.kind, t.owner, t.points
                FROM j, unnest(\(seqs)::smallint[], \(kinds)::smallint[], \(owners)::bigint[], \(points)::bigint[]) AS t(seq, kind, owner, points)
            )
            SELECT id FROM j
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw DomainError.unavailable("journal insert returned nothing")
    }

    /// Applies a change to the member's cached balance; the CHECK on debt keeps it non-negative.
    static func adjustMember(mallId: Int64, memberId: Int64, balanceDelta: Int64, debtDelta: Int64, earnedDelta: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            UPDATE members SET balance_points = balance_points + \(balanceDelta), debt_points = debt_points + \(debtDelta),
                lifetime_earned_points = lifetime_earned_points + \(earnedDelta)
            WHERE mall_id = \(mallId) AND id = \(memberId)
            """, logger: logger)
    }

    /// Subtracts draws from lots.
    static func drawLots(_ draws: [LotDraw], mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        guard !draws.isEmpty else { return }
        try await connection.query("""
            UPDATE lots SET remaining_points = remaining_points - t.take
            FROM unnest(\(draws.map(\.lotId))::bigint[], \(draws.map(\.points))::bigint[]) AS t(id, take)
            WHERE lots.mall_id = \(mallId) AND lots.id = t.id
            """, logger: logger)
    }

    static let lotColumns = "id, amount_points, remaining_points, epoch_ms(earned_at), epoch_ms(available_at), epoch_ms(expires_at), funder_kind, funder_id, order_id"

    static func decodeLots(_ rows: PostgresRowSequence) async throws -> [Lot] {
        var lots: [Lot] = []
        for try await (id, amount, remaining, earnedAt, availableAt, expiresAt, funderKind, funderId, orderId)
            in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64?, Int16, Int64, Int64?).self) {
            let lot = Lot(
                id: id, amountPoints: amount, remainingPoints: remaining, earnedAtMilliseconds: earnedAt, availableAtMilliseconds: availableAt,
                expiresAtMilliseconds: expiresAt, funder: Funder(kind: funderKind, ownerId: funderId) ?? .mall, orderId: orderId)
            assert(lot.isConsistent, "lot \(id) has remaining outside [0, amount]")
            lots.append(lot)
        }
        return lots
    }
}
