import AtriumProto
import AtriumStore
import Logging
import PostgresNIO
import Testing

/// Refunds of points the member already spent follow the mall's policy. Points payment arrives
/// with a later issue, so the spending here is a balanced SQL journal of its own.
@Suite("Refunds after the points were spent")
struct ShortfallTests {
    /// Spends every live point of the member: lots to zero, a spend journal (member −, mall +).
    static func spendEverything(mallId: Int64, memberId: Int64) async throws {
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let logger = server.logger
        try await db.withMall(mallId) { connection in
            var total: Int64 = 0
            for try await sum in try await connection.query("""
                SELECT coalesce(sum(remaining_points), 0)::bigint FROM lots WHERE mall_id = \(mallId) AND member_id = \(memberId)
                """, logger: logger).decode(Int64.self) { total = sum }
            try await connection.query("UPDATE lots SET remaining_points = 0 WHERE mall_id = \(mallId) AND member_id = \(memberId)", logger: logger)
            var journalId: Int64 = 0
            for try await id in try await connection.query("""
                INSERT INTO journals (mall_id, kind, member_id, member_points, description)
                VALUES (\(mallId), 4, \(memberId), \(-total), 'test spend') RETURNING id
                """, logger: logger).decode(Int64.self) { journalId = id }
            try await connection.query("""
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                VALUES (\(mallId), \(journalId), 0, 0, \(memberId), \(-total)), (\(mallId), \(journalId), 1, 1, 0, \(total))
                """, logger: logger)
            try await connection.query("UPDATE members SET balance_points = balance_points - \(total) WHERE mall_id = \(mallId) AND id = \(memberId)", logger: logger)
        }
    }

    @Test func stopAtZeroRecordsTheShortfall() async throws {
        let fixture = try await MallFixture.create(shortfall: .stopAtZero)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        _ = try await pos.submit("SF-1", member: member, amountMinor: 10_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)
        _ = try await pos.submit("SF-2", member: member, amountMinor: 3_000)

        let refund = try await pos.refund("sf", orderNumber: "SF-1").refund
        #expect(refund.clawedBackPoints == 30)
        #expect(refund.shortfallPoints == 70)
        #expect(refund.debtPoints == 0)
        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 0)
        #expect(balance.debtPoints == 0)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func allowDebtCarriesANegativeBalanceRepaidByLaterEarning() async throws {
        let fixture = try await MallFixture.create(shortfall: .allowDebt)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        _ = try await pos.submit("D-1", member: member, amountMinor: 10_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)

        let refund = try await pos.refund("d", orderNumber: "D-1").refund
        #expect(refund.clawedBackPoints == 0)
        #expect(refund.debtPoints == 100)
        var balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == -100)
        #expect(balance.debtPoints == 100)

        _ = try await pos.submit("D-2", member: member, amountMinor: 6_000)
        balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 40)
        #expect(balance.availablePoints == -40)
        _ = try await pos.submit("D-3", member: member, amountMinor: 5_000)
        balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 0)
        #expect(balance.availablePoints == 10)
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// Merchant A's order is refunded after its points were spent: A gets back nothing now, and
    /// the member owes A the 100 points. The member then earns 60 and 50 at merchant B; each
    /// repaid point goes to A. Settlement shows it: A pays only for what its refunded order left
    /// unrepaid, B for its own orders, and nothing of A's refund lands on B.
    @Test func aRefundsDebtIsOwedToItsOwnFunderAndRepaidToItThroughSettlement() async throws {
        let fixture = try await MallFixture.create(shortfall: .allowDebt, issuePoints: 100, issueValueMinor: 50)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (a, posA) = try await fixture.merchant()
        let (b, posB) = try await fixture.merchant()
        let member = try await fixture.member()
        _ = try await posA.submit("A-1", member: member, amountMinor: 10_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)
        let refund = try await posA.refund("a1", orderNumber: "A-1").refund
        #expect(refund.clawedBackPoints == 0 && refund.debtPoints == 100)

        let first = try await posB.submit("B-1", member: member, amountMinor: 6_000)
        #expect(first.order.earnedPoints == 60)
        var balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 40 && balance.availablePoints == -40)
        #expect(try await fixture.ledgerViolations() == [])
        // The member's transactions are what moved its points: the repayment moves only funders'.
        let transactions = try await fixture.hq.members.listTransactions(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).transactions
        // Newest first by id. (On Citus this test's own spend journal, written through the
        // coordinator, takes an id from the coordinator's range, below the worker's.)
        #expect(transactions.first?.points == 60)
        #expect(transactions.map(\.points).sorted() == [-100, -100, 60, 100])

        let firstPeriod = try await SettlementTests.close(fixture, endingAt: try await SettlementTests.now())
        // A issued 100 (¥0.50) and has 60 of them back from the member (¥0.30); B issued 60.
        #expect(SettlementTests.summary(try await SettlementTests.statements(fixture, period: firstPeriod.period.id)) == [
            "1:0 net 50 [1 2 160 80][6 1 -60 -30]",
            "2:\(a.id) net -20 [1 1 -100 -50][6 1 60 30]",
            "2:\(b.id) net -30 [1 1 -60 -30]",
        ])

        // 50 more: 40 repay the rest of the debt to A, 10 land in a lot.
        _ = try await posB.submit("B-2", member: member, amountMinor: 5_000)
        balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 0 && balance.availablePoints == 10)
        let lots = try await fixture.hq.members.listLots(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).lots
        #expect(lots.map(\.remainingPoints) == [10])
        let secondPeriod = try await SettlementTests.close(fixture, endingAt: try await SettlementTests.now())
        #expect(SettlementTests.summary(try await SettlementTests.statements(fixture, period: secondPeriod.period.id)) == [
            "1:0 net 5 [1 1 50 25][6 1 -40 -20]",
            "2:\(a.id) net 20 [6 1 40 20]",
            "2:\(b.id) net -25 [1 1 -50 -25]",
        ])
        // Over both periods A's refunded order cost A nothing; B paid for its 110 points.
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// Two orders of one batch repay one member's debt to two funders, oldest debt first; the
    /// rows of `member_debts` end at exactly what is still owed.
    @Test func concurrentOrdersRepayDebtsOldestFirstAndExactlyOnce() async throws {
        let fixture = try await MallFixture.create(shortfall: .allowDebt)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (a, posA) = try await fixture.merchant()
        let (b, posB) = try await fixture.merchant()
        let (_, posC) = try await fixture.merchant()
        let member = try await fixture.member()
        _ = try await posA.submit("A-1", member: member, amountMinor: 3_000)
        _ = try await posB.submit("B-1", member: member, amountMinor: 2_000)
        try await Self.spendEverything(mallId: fixture.mall.id, memberId: member.id)
        _ = try await posA.refund("a1", orderNumber: "A-1")
        _ = try await posB.refund("b1", orderNumber: "B-1")
        #expect(try await fixture.balance(member.id).debtPoints == 50)

        // Ten orders of 4 points at C at once, each sent twice: 40 points repay 30 to A, then 10 to B.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                for _ in 0..<2 { group.addTask { _ = try await retryingAborted { try await posC.submit("C-\(i)", member: member, amountMinor: 400) } } }
            }
            try await group.waitForAll()
        }
        let balance = try await fixture.balance(member.id)
        #expect(balance.debtPoints == 10 && balance.availablePoints == -10)
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let owed = try await db.withMall(fixture.mall.id) { connection in
            var rows: [String] = []
            for try await (kind, owner, points) in try await connection.query("""
                SELECT funder_kind, funder_id, points FROM member_debts WHERE mall_id = \(fixture.mall.id) AND member_id = \(member.id) ORDER BY owed_since
                """, logger: server.logger).decode((Int16, Int64, Int64).self) { rows.append("\(kind):\(owner) \(points)") }
            return rows
        }
        #expect(owed == ["2:\(a.id) 0", "2:\(b.id) 10"])
        #expect(try await fixture.ledgerViolations() == [])
    }
}
