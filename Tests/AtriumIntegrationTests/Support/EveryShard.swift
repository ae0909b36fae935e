import Logging
import PostgresNIO

/// For the tests that query a tenant table with no mall filter on purpose, to show that row-level
/// security alone narrows it: on Citus such a statement touches every shard, which the suite's
/// server sessions otherwise refuse (`TestServer`, `citus.multi_task_query_log_level`).
func allowingEveryShard(_ connection: PostgresConnection, logger: Logger) async throws {
    guard TestServer.citus else { return }
    try await connection.query("SET LOCAL citus.multi_task_query_log_level = off", logger: logger)
}
