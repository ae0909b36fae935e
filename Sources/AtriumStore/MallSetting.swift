import Logging
import PostgresNIO

extension Database {
    /// Scopes the rest of the transaction to one mall: `SET LOCAL`, so it ends with the
    /// transaction. Not `set_config(..., true)`, which does the same on one server: Citus forwards
    /// `SET LOCAL` to the shards (`citus.propagate_set_commands = 'local'`) but not `set_config`,
    /// and a shard without the setting would show the mall nothing. A SET takes no bound
    /// parameters, so the id is written into the statement: an `Int64` rendered as digits, never
    /// text from a caller. `transaction` sends it ahead of every mall-scoped body; `setMall` is
    /// for the platform operator's transactions that create a mall's first rows.
    static func mallSetting(_ mallId: Int64) -> PostgresQuery {
        precondition(mallId > 0, "a mall id is positive")
        return PostgresQuery(unsafeSQL: "SET LOCAL atrium.mall_id = \(mallId)")
    }

    /// Sets the transaction's mall from here on (see `mallSetting`).
    static func setMall(_ mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(mallSetting(mallId), logger: logger)
    }
}
