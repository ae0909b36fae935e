import AtriumDomain
import AtriumProto
@testable import AtriumServer
import Foundation
import GRPCCore
import PostgresNIO
import Testing
@testable import AtriumStore

/// Points expire when their lot's time comes, exactly once, back to the funder that issued them.
/// Serialized: the sweeper test walks every mall, and would take the due lots of a test of this
/// suite running beside it (SettlementTests has due lots too but does not count what expires).
@Suite("Point expiry", .serialized)
struct ExpiryTests {
    static let dayMilliseconds: Int64 = 86_400_000

    /// A mall whose points live one day, a fashion merchant earning 1 point per ¥1.
    static func mall(shortfall: Atrium_V1_RefundShortfallPolicy = .stopAtZero) async throws -> (MallFixture, Api, Atrium_V1_Merchant) {
        let fixture = try await MallFixture.create(shortfall: shortfall, expiry: .daysAfterEarning, expiryParameter: 1)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (merchant, pos) = try await fixture.merchant(category: .fashion)
        return (fixture, pos, merchant)
    }

    static func daysAgo(_ days: Int64) -> Int64 { EarningTests.nowMilliseconds() - days * dayMilliseconds }

    static func expire(_ fixture: MallFixture) async throws -> Atrium_V1_ExpirePointsResponse {
        try await fixture.hq.hq.expirePoints(Atrium_V1_ExpirePointsRequest(), metadata: fixture.hq.metadata)
    }

    static func lots(_ fixture: MallFixture, _ member: Atrium_V1_Member) async throws -> [Atrium_V1_Lot] {
        try await fixture.hq.members.listLots(.with { $0.memberID = member.id; $0.includeDepleted = true }, metadata: fixture.hq.metadata).lots
    }

    /// The postings of the member's expiry journals, as (account kind, owner, points).
    static func expiryPostings(mallId: Int64, memberId: Int64) async throws -> [[Int64]] {
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        return try await db.withMall(mallId) { connection in
            try await connection.query("""
                SELECT p.account_kind::bigint, p.account_owner_id, p.points FROM journals j
                JOIN postings p ON p.mall_id = j.mall_id AND p.journal_id = j.id
                WHERE j.mall_id = \(mallId) AND j.member_id = \(memberId) AND j.kind = 5 ORDER BY p.journal_id, p.seq
                """, logger: server.logger).decode((Int64, Int64, Int64).self).reduce(into: []) { $0.append([$1.0, $1.1, $1.2]) }
        }
    }

    @Test func duePointsExpireOnceInOneJournalPerMemberAndGoBackToTheirFunder() async throws {
        let (fixture, pos, merchant) = try await Self.mall()
        let ann = try await fixture.member(), bob = try await fixture.member()
        _ = try await pos.submit("X-1", member: ann, amountMinor: 10_000, paidAt: Self.daysAgo(3))
        _ = try await pos.submit("X-2", member: ann, amountMinor: 5_000, paidAt: Self.daysAgo(2))
        _ = try await pos.submit("X-3", member: ann, amountMinor: 2_000)
        _ = try await pos.submit("X-4", member: bob, amountMinor: 3_000, paidAt: Self.daysAgo(2))
        // Past their expiry, before any sweep: no longer available.
        #expect(try await fixture.balance(ann.id).availablePoints == 20)
        #expect(try await fixture.balance(bob.id).availablePoints == 0)

        let first = try await Self.expire(fixture)
        #expect(first.lotsExpired == 3)
        #expect(first.pointsExpired == 180)
        #expect(first.membersDebited == 2)
        #expect(!first.moreDue)
        let again = try await Self.expire(fixture)
        #expect(again.lotsExpired == 0 && again.pointsExpired == 0 && again.membersDebited == 0)

        #expect(try await fixture.balance(ann.id).availablePoints == 20)
        #expect(try await fixture.balance(ann.id).lifetimeEarnedPoints == 170)
        let lots = try await Self.lots(fixture, ann)
        #expect(lots.map(\.remainingPoints) == [0, 0, 20])
        #expect(lots.map(\.expiredPoints) == [100, 50, 0])
        let history = try await fixture.hq.members.listTransactions(.with { $0.memberID = ann.id }, metadata: fixture.hq.metadata).transactions
        #expect(history.first?.kind == .expire)
        #expect(history.map(\.points) == [-150, 20, 50, 100])
        #expect(try await Self.expiryPostings(mallId: fixture.mall.id, memberId: ann.id) == [[0, ann.id, -150], [2, merchant.id, 150]])
        #expect(try await Self.expiryPostings(mallId: fixture.mall.id, memberId: bob.id) == [[0, bob.id, -30], [2, merchant.id, 30]])
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func concurrentSweepsExpireEachLotExactlyOnce() async throws {
        let (fixture, pos, _) = try await Self.mall()
        var members: [Atrium_V1_Member] = []
        for i in 0..<24 {
            let member = try await fixture.member()
            members.append(member)
            _ = try await pos.submit("C-\(i)-a", member: member, amountMinor: 1_000, paidAt: Self.daysAgo(3))
            _ = try await pos.submit("C-\(i)-b", member: member, amountMinor: 2_000, paidAt: Self.daysAgo(2))
        }
        let server = try await TestServer.shared.start()
        let store = ExpiryStore(db: Database(client: server.client, logger: server.logger))
        let mallId = fixture.mall.id
        let asOf = EarningTests.nowMilliseconds()
        // Four RPCs and four store loops taking three members a batch, all at once.
        let tallies = try await withThrowingTaskGroup(of: (lots: Int64, points: Int64, members: Int64).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let r = try await Self.expire(fixture)
                    return (r.lotsExpired, r.pointsExpired, r.membersDebited)
                }
                group.addTask {
                    var sum = ExpiryTally()
                    while true {
                        let (tally, full) = try await store.expireBatch(mallId: mallId, asOfMilliseconds: asOf, membersMax: 3)
                        sum = sum + tally
                        if !full { return (sum.lotsExpired, sum.pointsExpired, sum.membersDebited) }
                    }
                }
            }
            return try await group.reduce(into: [(lots: Int64, points: Int64, members: Int64)]()) { $0.append($1) }
        }
        #expect(tallies.reduce(0) { $0 + $1.lots } == 48)
        #expect(tallies.reduce(0) { $0 + $1.points } == 24 * 30)
        #expect(tallies.reduce(0) { $0 + $1.members } == 24)
        for member in members {
            #expect(try await Self.lots(fixture, member).map(\.expiredPoints) == [10, 20])
            #expect(try await fixture.balance(member.id).availablePoints == 0)
        }
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// The funder had expired points back at expiry; a refund of their order must not take them
    /// from the member again, even where the mall's policy would make a debt of them.
    @Test func aRefundAfterExpiryCountsTheExpiredPointsAndTakesNothingForThem() async throws {
        let (fixture, pos, merchant) = try await Self.mall(shortfall: .allowDebt)
        let member = try await fixture.member()
        _ = try await pos.submit("R-1", member: member, amountMinor: 10_000, paidAt: Self.daysAgo(3))
        _ = try await pos.submit("R-2", member: member, amountMinor: 5_000)
        // Before the sweep, the order's own lot still holds its points: 40 come back from it.
        let early = try await pos.refund("early", orderNumber: "R-1", amountMinor: 4_000)
        #expect(early.refund.clawedBackPoints == 40)
        #expect(early.refund.expiredPoints == 0)
        #expect(try await Self.expire(fixture).pointsExpired == 60)
        #expect(try await Self.expiryPostings(mallId: fixture.mall.id, memberId: member.id) == [[0, member.id, -60], [2, merchant.id, 60]])

        let late = try await pos.refund("late", orderNumber: "R-1")
        #expect(late.refund.expiredPoints == 60)
        #expect(late.refund.clawedBackPoints == 0)
        #expect(late.refund.debtPoints == 0)
        #expect(late.refund.shortfallPoints == 0)
        #expect(late.order.clawedBackPoints == 100)
        #expect(late.order.status == .refunded)
        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 50)
        #expect(balance.debtPoints == 0)
        // The expired points were counted once: nothing is left to count against another refund.
        #expect(try await Self.lots(fixture, member).map(\.expiredPoints) == [0, 0])
        let history = try await fixture.hq.members.listTransactions(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).transactions
        #expect(history.map(\.points) == [-60, -40, 50, 100])
        let stored = try await pos.merchant.getOrder(.with { $0.orderNumber = "R-1" }, metadata: pos.metadata).order
        #expect(stored.refunds.map(\.expiredPoints) == [0, 60])
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func aMallExpiresOnlyItsOwnPointsAndOnlyHeadquartersMayAsk() async throws {
        let (a, posA, _) = try await Self.mall()
        let (b, posB, _) = try await Self.mall()
        let ann = try await a.member(), bob = try await b.member()
        _ = try await posA.submit("I-1", member: ann, amountMinor: 1_000, paidAt: Self.daysAgo(3))
        _ = try await posB.submit("I-1", member: bob, amountMinor: 2_000, paidAt: Self.daysAgo(3))
        #expect(try await Self.expire(b).pointsExpired == 20)
        #expect(try await Self.lots(a, ann).map(\.remainingPoints) == [10])
        await expectStatus(.permissionDenied) { try await posA.hq.expirePoints(Atrium_V1_ExpirePointsRequest(), metadata: posA.metadata) }
        #expect(try await Self.lots(a, ann).map(\.remainingPoints) == [10])
        #expect(try await Self.expire(a).pointsExpired == 10)
    }

    @Test func theSweeperExpiresDuePointsByItself() async throws {
        let (fixture, pos, _) = try await Self.mall()
        let member = try await fixture.member()
        _ = try await pos.submit("S-1", member: member, amountMinor: 7_000, paidAt: Self.daysAgo(2))
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger)
        let sweeper = ExpirySweeper(
            malls: MallStore(db: db), expiry: ExpiryStore(db: db), leases: JobLeaseStore(db: db), interval: .milliseconds(200),
            now: { EarningTests.nowMilliseconds() }, logger: server.logger)
        let sweeping = Task { await sweeper.run() }
        var expired: [Int64] = []
        for _ in 0..<100 where expired != [70] {
            try await Task.sleep(for: .milliseconds(100))
            expired = try await Self.lots(fixture, member).map(\.expiredPoints)
        }
        // Stopped before the next test of the suite can create due lots it would take.
        sweeping.cancel()
        await sweeping.value
        #expect(expired == [70])
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// Two replicas split the malls: while replica A holds a mall's lease, B's sweep leaves the
    /// mall alone and its points due; once A gives the lease back, B sweeps; a lease that ran out
    /// goes to whoever asks next; and a sweep gives its own lease back when it is done.
    @Test func replicasSweepAMallOneAtATimeThroughItsLease() async throws {
        let (fixture, pos, _) = try await Self.mall()
        let member = try await fixture.member()
        _ = try await pos.submit("R-1", member: member, amountMinor: 7_000, paidAt: Self.daysAgo(2))
        let server = try await TestServer.shared.start()
        let db = Database(client: server.client, logger: server.logger, citus: TestServer.citus)
        let leases = JobLeaseStore(db: db)
        let mallId = fixture.mall.id
        func replica(_ name: String) -> ExpirySweeper {
            ExpirySweeper(
                malls: MallStore(db: db), expiry: ExpiryStore(db: db), leases: leases, holder: name, interval: .seconds(60),
                now: { EarningTests.nowMilliseconds() }, logger: server.logger)
        }
        #expect(try await leases.claim(mallId: mallId, job: .expirySweep, holder: "A", lease: .seconds(60)))
        #expect(try await leases.claim(mallId: mallId, job: .expirySweep, holder: "A", lease: .seconds(60)), "the holder renews its own lease")
        #expect(await replica("B").sweep(mallId: mallId) == false)
        #expect(try await Self.lots(fixture, member).map(\.expiredPoints) == [0])
        try await leases.release(mallId: mallId, job: .expirySweep, holder: "B")
        #expect(try await !leases.claim(mallId: mallId, job: .expirySweep, holder: "C", lease: .seconds(60)), "another's release leaves A's lease")

        try await leases.release(mallId: mallId, job: .expirySweep, holder: "A")
        #expect(await replica("B").sweep(mallId: mallId) == true)
        #expect(try await Self.lots(fixture, member).map(\.expiredPoints) == [70])
        #expect(try await leases.claim(mallId: mallId, job: .expirySweep, holder: "C", lease: .milliseconds(1)), "B gave its lease back")
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await leases.claim(mallId: mallId, job: .expirySweep, holder: "D", lease: .seconds(60)), "C's lease ran out")
        #expect(try await fixture.ledgerViolations() == [])
    }
}
