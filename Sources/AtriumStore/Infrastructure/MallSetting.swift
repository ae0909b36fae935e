import Logging
import PostgresNIO

extension Database {
    /// Scopes the rest of the transaction to one mall: `SET LOCAL`, so it ends with the
    /// transaction. Not `set_config(..., true)`, which does the same on one server: Citus forwards
    /// `SET LOCAL` to the shards (`citus.propagate_set_commands = 'local'`) but not `set_config`,
    /// and a shard without the setting would show the mall nothing. A SET takes no bound
    /// parameters, so the id is written into the statement: an `Int64` rendered as digits, never
    /// text from a caller.
    ///
    /// The second statement names the mall in the session's `application_name` for as long as the
    /// transaction runs, so a settlement close sees in `pg_stat_activity` which transactions can
    /// still write its mall's journals (`SettlementStore`). Both are queued with BEGIN; a lane's
    /// are sent while the batch before runs, off the path its tills wait on.
    static func mallSettings(_ mallId: Int64) -> [PostgresQuery] {
        precondition(mallId > 0, "a mall id is positive")
        return [
            PostgresQuery(unsafeSQL: "SET LOCAL atrium.mall_id = \(mallId)"),
            PostgresQuery(unsafeSQL: "SET LOCAL application_name = '\(applicationName(mallId))'"),
        ]
    }

    /// What `application_name` says while a transaction of `mallId` runs.
    static func applicationName(_ mallId: Int64) -> String { "atrium/mall/\(mallId)" }

    /// Sets the transaction's mall from here on (see `mallSettings`): for the platform operator's
    /// transactions that create a mall's first rows.
    static func setMall(_ mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        for setting in mallSettings(mallId) { try await connection.query(setting, logger: logger) }
    }
}
