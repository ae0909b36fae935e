import AtriumDomain
import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import PostgresNIO
import Testing
@testable import AtriumStore

/// Settlement periods net each merchant's clearing entries (points issued, clawed back, expired)
/// against the mall into immutable statements whose nets sum to zero.
@Suite("Settlement")
struct SettlementTests {
    /// Points live one day; 100 points are worth ¥0.50 to the funder that issues them; the mall
    /// keeps a fifth of the value of expired points. Fashion earns 1 point per ¥1.
    static func mall() async throws -> MallFixture {
        let fixture = try await MallFixture.create(
            expiry: .daysAfterEarning, expiryParameter: 1, issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 2_000)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        return fixture
    }

    /// Closes, retrying while transactions of other tests that began before the end still run.
    static func close(_ fixture: MallFixture, endingAt end: Int64) async throws -> Atrium_V1_CloseSettlementPeriodResponse {
        for _ in 0..<100 {
            do {
                return try await fixture.hq.hq.closeSettlementPeriod(.with { $0.periodEndUnixMs = end }, metadata: fixture.hq.metadata)
            } catch let error as RPCError where error.code == .unavailable {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        throw RPCError(code: .unavailable, message: "the close never found the period free of running transactions")
    }

    /// A moment after everything so far, so the period surely holds it.
    static func now() async throws -> Int64 {
        try await Task.sleep(for: .milliseconds(5))
        return EarningTests.nowMilliseconds()
    }

    static func statements(_ fixture: MallFixture, period: Int64) async throws -> [Atrium_V1_Statement] {
        try await fixture.hq.hq.listStatements(.with { $0.periodID = period }, metadata: fixture.hq.metadata).statements
    }

    /// (party kind, party id, net, [(kind, entries, points, amount)]) for exact comparison.
    static func summary(_ statements: [Atrium_V1_Statement]) -> [String] {
        statements.map { s in
            "\(s.partyKind.rawValue):\(s.partyID) net \(s.netMinor) " + s.lines.map { "[\($0.kind.rawValue) \($0.entries) \($0.points) \($0.amountMinor)]" }.joined()
        }
    }

    @Test func aPeriodNetsIssuanceClawbackAndBreakageOfEachMerchantAgainstTheMall() async throws {
        let fixture = try await Self.mall()
        let (a, posA) = try await fixture.merchant()
        let (b, posB) = try await fixture.merchant()
        let ann = try await fixture.member(), bob = try await fixture.member()
        _ = try await posA.submit("A-1", member: ann, amountMinor: 10_000, paidAt: ExpiryTests.daysAgo(3))  // 100, expires
        _ = try await posA.submit("A-2", member: bob, amountMinor: 5_000)                                  // 50
        _ = try await posB.submit("B-1", member: bob, amountMinor: 7_000)                                  // 70
        _ = try await posB.refund("r1", orderNumber: "B-1", amountMinor: 3_000)                           // 30 back
        _ = try await fixture.hq.hq.expirePoints(Atrium_V1_ExpirePointsRequest(), metadata: fixture.hq.metadata)
        #expect(try await fixture.balance(ann.id).availablePoints == 0)
        let end = try await Self.now()

        let closed = try await Self.close(fixture, endingAt: end)
        #expect(!closed.replayed)
        #expect(closed.period.startsAtUnixMs == fixture.mall.createdAtUnixMs)
        #expect(closed.period.endsAtUnixMs == end)
        #expect(closed.period.entries == 5)
        #expect(closed.period.statements == 3)
        let statements = try await Self.statements(fixture, period: closed.period.id)
        // A: issued 150 points (¥0.75), 100 expired come back at 80 % (¥0.40). B: issued 70
        // (¥0.35), a refund took 30 back (¥0.15). The mall is the other side of each line.
        #expect(Self.summary(statements) == [
            "1:0 net 55 [1 3 220 110][2 1 -30 -15][5 1 -100 -40]",
            "2:\(a.id) net -35 [1 2 -150 -75][5 1 100 40]",
            "2:\(b.id) net -20 [1 1 -70 -35][2 1 30 15]",
        ])
        #expect(statements.reduce(0) { $0 + $1.netMinor } == 0)

        // The end is the key: a retry changes nothing and returns the same period.
        let again = try await Self.close(fixture, endingAt: end)
        #expect(again.replayed)
        #expect(again.period == closed.period)
        #expect(try await Self.statements(fixture, period: closed.period.id) == statements)

        // A merchant sees its own statement only.
        let mine = try await posA.merchant.listMyStatements(Atrium_V1_ListMyStatementsRequest(), metadata: posA.metadata).statements
        #expect(Self.summary(mine) == ["2:\(a.id) net -35 [1 2 -150 -75][5 1 100 40]"])
        let byParty = try await fixture.hq.hq.listStatements(.with { $0.partyKind = .merchant; $0.partyID = b.id }, metadata: fixture.hq.metadata).statements
        #expect(byParty.map(\.netMinor) == [-20])

        let export = try await fixture.hq.hq.exportStatements(.with { $0.periodID = closed.period.id }, metadata: fixture.hq.metadata)
        #expect(export.fileName == "statements-\(fixture.mall.code)-\(closed.period.id).csv")
        let prefix = "\(closed.period.id),\(StatementCSV.iso8601(closed.period.startsAtUnixMs)),\(StatementCSV.iso8601(end)),CNY"
        #expect(export.csv.components(separatedBy: "\r\n") == [
            StatementCSV.header,
            "\(prefix),mall,0,issued,3,220,110", "\(prefix),mall,0,clawed_back,1,-30,-15", "\(prefix),mall,0,expired,1,-100,-40", "\(prefix),mall,0,net,,,55",
            "\(prefix),merchant,\(a.id),issued,2,-150,-75", "\(prefix),merchant,\(a.id),expired,1,100,40", "\(prefix),merchant,\(a.id),net,,,-35",
            "\(prefix),merchant,\(b.id),issued,1,-70,-35", "\(prefix),merchant,\(b.id),clawed_back,1,30,15", "\(prefix),merchant,\(b.id),net,,,-20",
            "",
        ])
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func laterEventsFallIntoTheNextPeriodWhichStartsWhereTheLastEnded() async throws {
        let fixture = try await Self.mall()
        let (a, pos) = try await fixture.merchant()
        let ann = try await fixture.member()
        _ = try await pos.submit("N-1", member: ann, amountMinor: 1_000)
        let firstEnd = try await Self.now()
        _ = try await pos.submit("N-2", member: ann, amountMinor: 4_000)
        let first = try await Self.close(fixture, endingAt: firstEnd)
        _ = try await pos.submit("N-3", member: ann, amountMinor: 2_000)
        let secondEnd = try await Self.now()
        let second = try await Self.close(fixture, endingAt: secondEnd)
        #expect(second.period.startsAtUnixMs == firstEnd)
        #expect(Self.summary(try await Self.statements(fixture, period: first.period.id)) == [
            "1:0 net 5 [1 1 10 5]", "2:\(a.id) net -5 [1 1 -10 -5]",
        ])
        #expect(Self.summary(try await Self.statements(fixture, period: second.period.id)) == [
            "1:0 net 30 [1 2 60 30]", "2:\(a.id) net -30 [1 2 -60 -30]",
        ])
        let periods = try await fixture.hq.hq.listSettlementPeriods(Atrium_V1_ListSettlementPeriodsRequest(), metadata: fixture.hq.metadata).periods
        #expect(periods.map(\.id) == [first.period.id, second.period.id])

        // Periods neither overlap nor lie ahead; an empty one has no statements.
        await expectStatus(.failedPrecondition, mentioning: "period_end") { try await Self.close(fixture, endingAt: firstEnd + 1) }
        await expectStatus(.failedPrecondition, mentioning: "future") { try await Self.close(fixture, endingAt: EarningTests.nowMilliseconds() + 60_000) }
        await expectStatus(.invalidArgument, mentioning: "period_end_unix_ms") { try await Self.close(fixture, endingAt: 0) }
        await expectStatus(.failedPrecondition, mentioning: "future") { try await Self.close(fixture, endingAt: .max) }
        let empty = try await Self.close(fixture, endingAt: try await Self.now())
        #expect(empty.period.entries == 0 && empty.period.statements == 0)
        let csv = try await fixture.hq.hq.exportStatements(.with { $0.periodID = empty.period.id }, metadata: fixture.hq.metadata).csv
        #expect(csv == StatementCSV.header + "\r\n")
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// A transaction that began before the end may still commit journals stamped inside the
    /// period: the close waits for it instead of settling without them.
    @Test func aCloseWaitsForTransactionsBegunBeforeTheEnd() async throws {
        let fixture = try await Self.mall()
        let (_, pos) = try await fixture.merchant()
        let ann = try await fixture.member()
        _ = try await pos.submit("W-1", member: ann, amountMinor: 1_000)
        let server = try await TestServer.shared.start()
        try await server.client.withConnection { held in
            _ = try await held.query("BEGIN", logger: server.logger)
            _ = try await held.query("SELECT 1", logger: server.logger)
            let end = try await Self.now()
            await expectStatus(.unavailable, mentioning: "still running") {
                try await fixture.hq.hq.closeSettlementPeriod(.with { $0.periodEndUnixMs = end }, metadata: fixture.hq.metadata)
            }
            _ = try await held.query("COMMIT", logger: server.logger)
            #expect(try await Self.close(fixture, endingAt: end).period.entries == 1)
        }
    }

    /// A close waits only for transactions that may write its own mall's journals: one that
    /// names this mall holds it up, one that names another mall (its long ledger check, say)
    /// does not.
    @Test func aCloseWaitsOnlyForItsOwnMallsTransactions() async throws {
        let fixture = try await Self.mall()
        let other = try await Self.mall()
        let (_, pos) = try await fixture.merchant()
        _ = try await pos.submit("O-1", member: try await fixture.member(), amountMinor: 1_000)
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let firstEnd = try await db.withMall(fixture.mall.id) { connection in
            try await connection.query("SELECT 1", logger: server.logger)
            let end = try await Self.now()
            await expectStatus(.unavailable, mentioning: "still running") {
                try await fixture.hq.hq.closeSettlementPeriod(.with { $0.periodEndUnixMs = end }, metadata: fixture.hq.metadata)
            }
            return end
        }
        #expect(try await Self.close(fixture, endingAt: firstEnd).period.entries == 1)
        _ = try await pos.submit("O-2", member: try await fixture.member(), amountMinor: 1_000)
        try await db.withMall(other.mall.id, limits: .job) { connection in
            try await connection.query("SELECT 1", logger: server.logger)
            let end = try await Self.now()
            #expect(try await Self.close(fixture, endingAt: end).period.entries == 1)
        }
    }

    @Test func concurrentClosesOfOnePeriodWriteItOnce() async throws {
        let fixture = try await Self.mall()
        let (_, pos) = try await fixture.merchant()
        for i in 0..<5 { _ = try await pos.submit("K-\(i)", member: try await fixture.member(), amountMinor: 1_000) }
        let end = try await Self.now()
        let results = try await withThrowingTaskGroup(of: Atrium_V1_CloseSettlementPeriodResponse.self) { group in
            for _ in 0..<6 { group.addTask { try await Self.close(fixture, endingAt: end) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.period.id)).count == 1)
        #expect(results.filter { !$0.replayed }.count == 1)
        #expect(Self.summary(try await Self.statements(fixture, period: results[0].period.id)).count == 2)
        #expect(try await fixture.hq.hq.listSettlementPeriods(Atrium_V1_ListSettlementPeriodsRequest(), metadata: fixture.hq.metadata).periods.count == 1)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func theBreakageRuleIsAMallSettingWithinZeroAndTenThousandBasisPoints() async throws {
        let fixture = try await Self.mall()
        let platform = try await Api.platformOperator()
        let read = try await platform.platform.getMall(.with { $0.mallID = fixture.mall.id }, metadata: platform.metadata).mall
        #expect(read.settings.breakageMallShareBasisPoints == 2_000)
        #expect(read.settings.issuePoints == 100 && read.settings.issueValueMinor == 50)
        for share: Int32 in [-1, 10_001] {
            await expectStatus(.invalidArgument, mentioning: "settings.breakage_mall_share_basis_points") {
                try await MallFixture.create(breakageMallShareBasisPoints: share)
            }
        }
    }

    @Test func statementsBelongToOneMallAndCannotBeChanged() async throws {
        let fixture = try await Self.mall(), other = try await Self.mall()
        let (_, pos) = try await fixture.merchant()
        _ = try await pos.submit("I-1", member: try await fixture.member(), amountMinor: 1_000)
        let closed = try await Self.close(fixture, endingAt: try await Self.now())

        await expectStatus(.permissionDenied) { try await pos.hq.closeSettlementPeriod(.with { $0.periodEndUnixMs = 1 }, metadata: pos.metadata) }
        await expectStatus(.notFound) { try await other.hq.hq.exportStatements(.with { $0.periodID = closed.period.id }, metadata: other.hq.metadata) }
        #expect(try await Self.statements(other, period: closed.period.id) == [])
        await expectStatus(.invalidArgument, mentioning: "party_id") {
            try await fixture.hq.hq.listStatements(.with { $0.partyID = 3 }, metadata: fixture.hq.metadata)
        }

        // Row-level security hides them from another mall's transaction even without a filter,
        // and the schema refuses changes even from the right one.
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let seen = try await db.withMall(other.mall.id) { connection in
            try await allowingEveryShard(connection, logger: server.logger)
            return try await connection.query("SELECT count(*) FROM settlement_lines", logger: server.logger).decode(Int64.self).reduce(0, +)
        }
        #expect(seen == 0)
        await #expect(throws: (any Error).self) {
            try await db.withMall(fixture.mall.id) { connection in
                try await connection.query("UPDATE settlement_statements SET net_minor = 0", logger: server.logger)
            }
        }
        await #expect(throws: (any Error).self) {
            try await db.withMall(fixture.mall.id) { connection in
                try await connection.query("DELETE FROM settlement_lines", logger: server.logger)
            }
        }
        #expect(Self.summary(try await Self.statements(fixture, period: closed.period.id)).count == 2)
    }

    /// The schema refuses changes to statements; should one change anyway (a superuser with the
    /// triggers off), CheckLedger names each settlement invariant it breaks.
    @Test func theLedgerCheckCatchesStatementsThatNoLongerAddUp() async throws {
        let fixture = try await Self.mall()
        let (_, pos) = try await fixture.merchant()
        _ = try await pos.submit("T-1", member: try await fixture.member(), amountMinor: 1_000)
        let closed = try await Self.close(fixture, endingAt: try await Self.now())
        #expect(closed.period.entries == 1)
        #expect(try await fixture.ledgerViolations() == [])
        let merchantStatement = try #require(try await Self.statements(fixture, period: closed.period.id).first { $0.partyKind == .merchant })

        let server = try await TestServer.shared.start()
        let admin = try await PostgresConnection.connect(
            configuration: .init(unixSocketPath: server.cluster.socketPath, username: "postgres", password: nil, database: EmbeddedPostgres.applicationDatabase),
            id: 1, logger: server.logger)
        try await admin.query("SET session_replication_role = replica", logger: server.logger)
        try await admin.query("UPDATE settlement_periods SET entries = entries + 2 WHERE mall_id = \(fixture.mall.id) AND id = \(closed.period.id)", logger: server.logger)
        try await admin.query("UPDATE settlement_statements SET net_minor = net_minor + 7 WHERE mall_id = \(fixture.mall.id) AND id = \(merchantStatement.id)", logger: server.logger)
        try await admin.close()

        #expect(try await fixture.ledgerViolations().sorted() == [
            "settlement period \(closed.period.id): counts 2 entries more than its mall statement's lines",
            "settlement period \(closed.period.id): nets sum to 7, not zero",
            "statement \(merchantStatement.id): net differs from its lines by 7",
        ])
    }
}
