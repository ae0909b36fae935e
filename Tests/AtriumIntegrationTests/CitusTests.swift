import AtriumServer
import Logging
import PostgresNIO
import Testing
@testable import AtriumStore

/// Atrium's distributed mode, on the Citus cluster of `deploy/citus-test.sh` only.
@Suite("Citus: tables placed by mall", .enabled(if: TestServer.citus))
struct CitusTests {
    /// Every table with a `mall_id` is distributed by it in one co-location group; every other
    /// table is a reference table; migrating again places nothing.
    @Test func everyTenantTableIsDistributedByMallInOneGroupAndTheRestAreReferenceTables() async throws {
        let server = try await TestServer.shared.start()
        let placements = try await server.ownerClient.withConnection { connection in
            var rows: [String] = []
            for try await (table, kind, column, group) in try await connection.query("""
                SELECT t.table_name::text, t.citus_table_type, t.distribution_column, t.colocation_id
                FROM citus_tables t ORDER BY 1
                """, logger: server.logger).decode((String, String, String, Int32).self) {
                rows.append("\(table) \(kind) \(column) \(group)")
            }
            return rows
        }
        let wanted = try await server.ownerClient.withConnection { connection in
            try await CitusDistribution.wantedPlacements(on: connection, logger: server.logger)
        }
        #expect(wanted.count == RuntimePrivileges.tableCount)
        #expect(placements.count == wanted.count)
        let distributed = placements.filter { $0.contains(" distributed mall_id ") }
        let groups = Set(distributed.compactMap { $0.split(separator: " ").last })
        #expect(groups.count == 1, "\(distributed)")
        for table in wanted {
            let row = placements.first { $0.hasPrefix(table.name + " ") } ?? "\(table.name) missing"
            switch table.placement {
            case .distributedByMall: #expect(row.contains(" distributed mall_id "), "\(row)")
            case .reference: #expect(row.contains(" reference "), "\(row)")
            }
        }
        #expect(wanted.contains { $0.name == "malls" && $0.placement == .reference })
        #expect(wanted.contains { $0.name == "journals" && $0.placement == .distributedByMall })

        let again = try await Migrator(client: server.ownerClient, logger: server.logger).migrate()
        #expect(again.isEmpty)
        let placedAgain = try await server.ownerClient.withTransaction(logger: server.logger) { connection in
            try await CitusDistribution.apply(on: connection, logger: server.logger)
        }
        #expect(placedAgain.isEmpty)
    }
}
