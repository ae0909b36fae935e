import AtriumDomain
import AtriumServer
import Foundation
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

    /// Every statement kind of the till's path, refunds and expiry is planned for one shard:
    /// `EXPLAIN` of each, with real values of a mall that has an order, shows Citus nodes with
    /// one task each (a function distributed by its mall argument is delegated as one task).
    @Test func everyStatementOfTheTillsPathRefundsAndExpiryRunsOnOneShard() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (merchant, till) = try await fixture.merchant()
        let member = try await fixture.member()
        let order = try await till.submit("X-1", member: member, amountMinor: 1_000).order
        let mallId = fixture.mall.id
        var refund = RecordRefundStatement(
            mallId: mallId, orderId: order.id, merchantId: merchant.id, memberId: member.id, refundId: "x", requestHash: Data([1]), refundMinor: 1,
            orderClawedBackPoints: 0, fundingJSON: "[]", linesJSON: "[]", coveredPoints: 0, shortfallPoints: 0, debtPoints: 0, memberPoints: 0,
            journalKind: 2, description: "", explanationJSON: "[]", drawLotIds: [], drawPoints: [], postingSeqs: [], postingKinds: [], postingOwners: [],
            postingPoints: [], expiredLotIds: [], expiredLotPoints: [], expiredPoints: 0, sequence: 1, returnedPoints: 0, couponsRestored: 0)
        refund.requestHash = Data([2])
        var write = RecordOrdersStatement(mallId: mallId, lotSource: 1, journalKind: 1, spendJournalKind: 4, couponClearingKind: 8)
        write.merchantIds = [merchant.id]; write.orderNumbers = ["X-2"]; write.memberIds = [member.id]
        let statements: [(String, PostgresQuery)] = [
            ("member lock", try Self.explain(MembersForEarningStatement<ForUpdate>(
                mallId: mallId, memberCodes: [member.memberCode], phones: [], qrTokens: [], merchantIds: [merchant.id], localDays: ["2026-12-03"]))),
            ("merchant contexts", try Self.explain(MerchantContextsStatement(mallId: mallId, merchantIds: [merchant.id]))),
            ("recorded numbers", try Self.explain(ExistingOrdersStatement(mallId: mallId, merchantIds: [merchant.id], orderNumbers: ["X-1"]))),
            ("budgets", try Self.explain(LockBudgetsStatement(mallId: mallId, campaignIds: [1]))),
            ("batch write", try Self.explain(write)),
            ("balance", try Self.explain(MemberBalanceStatement(mallId: mallId, memberId: member.id, nowMilliseconds: 0, visibleToMerchantId: 0))),
            ("order", try Self.explain(OrderStatement<OrderByNumber, ForUpdate>(mallId: mallId, merchantId: merchant.id, key: "X-1"))),
            ("refunds of the order", try Self.explain(RefundsForRefundStatement(mallId: mallId, orderId: order.id, merchantId: merchant.id, refundId: "x"))),
            ("clawback lots", try Self.explain(ClawbackLotsStatement(mallId: mallId, memberId: member.id, orderId: order.id, limit: 10))),
            ("refund write", try Self.explain(refund)),
            ("spending of payers", try Self.explain(SpendingForBatchStatement(
                mallId: mallId, memberIds: [member.id], perMemberMax: 10, holdIds: [1], couponCodes: ["0000000000000000"]))),
            ("spend draws", try Self.explain(SpendDrawsStatement(mallId: mallId, orderId: order.id))),
            ("spend return", try Self.explain(ReturnSpentPointsStatement(
                mallId: mallId, order: (order.id, order.orderNumber, member.id, merchant.id), refundId: "x",
                plan: SpendReturnPlan(returning: 1, of: [SpendDraw(lotId: 1, funder: .mall, points: 1, lotExpiresAtMilliseconds: nil)], atMilliseconds: 0,
                                      minimumValidityDays: 30)))),
            ("expiry write", "EXPLAIN SELECT lots, points, members FROM expire_lots(\(mallId), \([member.id])::bigint[], \(Int64(0)), \(Int16(5)))"),
        ]
        let db = Database(client: server.client, logger: server.logger, citus: true)
        for (name, query) in statements {
            let plan = try await db.withMall(mallId) { connection in
                try await connection.query(query, logger: server.logger).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
            let counts = plan.compactMap { line in line.range(of: "Task Count: ").map { Int(line[$0.upperBound...].trimmingCharacters(in: .whitespaces)) ?? -1 } }
            #expect(!counts.isEmpty && counts.allSatisfy { $0 == 1 }, "\(name): \(plan.joined(separator: "\n"))")
        }
    }

    /// `EXPLAIN` of a prepared statement's SQL with its own bindings.
    static func explain<Statement: PostgresPreparedStatement>(_ statement: Statement) throws -> PostgresQuery {
        PostgresQuery(unsafeSQL: "EXPLAIN " + Statement.sql, binds: try statement.makeBindings())
    }
}
