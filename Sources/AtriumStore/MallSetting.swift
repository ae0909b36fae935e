import Logging
import PostgresNIO

extension Database {
    /// Scopes the rest of the transaction to one mall, with the values bound:
    /// `set_config(..., true)` is `SET LOCAL`, so it ends with the transaction. The planning mode
    /// goes in the same statement, so choosing it costs no round trip. `transaction` sends it
    /// ahead of every mall-scoped body; `setMall` is for the platform operator's transactions that
    /// create a mall's first rows.
    static func mallSetting(_ mallId: Int64, planning: Planning) -> PostgresQuery {
        "SELECT set_config('atrium.mall_id', \(String(mallId)), true), set_config('plan_cache_mode', \(planning.rawValue), true)"
    }

    /// Sets the transaction's mall from here on (see `mallSetting`).
    static func setMall(_ mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(mallSetting(mallId, planning: .perCall), logger: logger)
    }
}
