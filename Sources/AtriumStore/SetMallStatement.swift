import Logging
import PostgresNIO

/// Scopes the rest of a transaction to one mall: `set_config(..., true)` is `SET LOCAL` with a
/// bound value, so it ends with the transaction. For the platform operator's transactions that
/// create a mall's first rows; `Database.withMall` sends the same SQL ahead of its body instead.
struct SetMallStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static let sql = "SELECT set_config('atrium.mall_id', $1, true), set_config('plan_cache_mode', $2, true)"

    var mallId: Int64
    var planning: Database.Planning

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(String(mallId))
        bindings.append(planning.rawValue)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { row }
}

extension Database {
    /// Sets the transaction's mall (see `SetMallStatement`).
    static func setMall(_ mallId: Int64, planning: Planning = .perCall, on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.execute(SetMallStatement(mallId: mallId, planning: planning), logger: logger) {}
    }
}
