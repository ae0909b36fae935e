import AtriumDomain
import Foundation
import PostgresNIO

/// How lots are stored and read back: where they came from, and the columns every lot read selects.
enum LotRows {
    enum Source: Int16 {
        case order = 1
        case behaviour = 2
        case adjustment = 3
        case exchange = 4
        /// Points a refund gave back after the lot they had paid from expired (`SpendReturnPlan`).
        case returned = 5
    }

    static let columns = "id, amount_points, remaining_points, epoch_ms(earned_at), epoch_ms(available_at), epoch_ms(expires_at), funder_kind, funder_id, order_id, expired_points"

    static func decode<Rows: AsyncSequence>(_ rows: Rows) async throws -> [Lot] where Rows.Element == PostgresRow {
        var lots: [Lot] = []
        for try await row in rows {
            let (id, amount, remaining, earnedAt, availableAt, expiresAt, funderKind, funderId, orderId, expired) =
                try row.decode((Int64, Int64, Int64, Int64, Int64, Int64?, Int16, Int64, Int64?, Int64).self)
            let lot = Lot(
                id: id, amountPoints: amount, remainingPoints: remaining, earnedAtMilliseconds: earnedAt, availableAtMilliseconds: availableAt,
                expiresAtMilliseconds: expiresAt, funder: Funder(kind: funderKind, ownerId: funderId) ?? .mall, orderId: orderId, expiredPoints: expired)
            // Stored data, not this process's arithmetic: a damaged row fails the call (and names
            // itself), where a trap would take every mall's calls down with it.
            guard lot.isConsistent else { throw DomainError.failedPrecondition(.ledgerInconsistent, "lot \(id) has remaining or expired points outside [0, amount]") }
            lots.append(lot)
        }
        return lots
    }
}
