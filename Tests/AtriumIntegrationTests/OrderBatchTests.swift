import AtriumDomain
import AtriumProto
import Foundation
import GRPCCore
import NIOCore
import PostgresNIO
import Testing
@testable import AtriumStore

/// Orders recorded together in one transaction: each is decided against what the orders before
/// it left (daily caps, campaign budgets), refusals stay with their own order, and the ledger
/// holds afterwards.
@Suite("Orders recorded in batches")
struct OrderBatchTests {
    static func submission(_ number: String, merchant: Int64, member: MemberStore.LookupKey, amountMinor: Int64, hash: UInt8 = 1) -> OrderSubmission {
        let input = OrderInput(
            orderNumber: number, storeId: "S1", terminalId: "T1", member: member, amountMinor: amountMinor, pointsPaidMinor: 0,
            couponPaidMinor: 0, lines: [], paidAtMilliseconds: nil)
        return OrderSubmission(merchantId: merchant, input: input, requestHash: Data([hash]), nowMilliseconds: EarningTests.nowMilliseconds())
    }

    /// The batch write reads member_daily_earnings only through its primary key, with the
    /// generic plans the till's sessions use: a plan that scanned the table whole (as a join of
    /// the daily totals once did) would do so on every batch once the table is large. Counted
    /// by PostgreSQL for this transaction alone, which is rolled back.
    @Test(.disabled(if: TestServer.citus, "the coordinator counts no scans of the shards"))
    func theBatchWriteProbesDailyTotalsByKey() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let merchant = try await fixture.merchant().merchant
        let member = try await fixture.member()
        let db = Database(client: server.client, logger: server.logger)
        struct RolledBack: Error { let sequential: Int64, indexed: Int64 }
        let error = await #expect(throws: RolledBack.self) {
            try await db.withMall(fixture.mall.id, planning: .cached) { connection in
                for attempt in 0..<8 {
                    var statement = RecordOrdersStatement(mallId: fixture.mall.id, lotSource: 1, journalKind: 1, spendJournalKind: 4, couponClearingKind: 8)
                    statement.merchantIds = [merchant.id]; statement.orderNumbers = ["PROBE-\(attempt)"]
                    statement.requestHashes = [ByteBuffer(bytes: [1])]; statement.memberIds = [member.id]
                    statement.storeIds = ["S"]; statement.terminalIds = ["T"]; statement.amountsMinor = [100]
                    statement.pointsPaidMinor = [0]; statement.couponPaidMinor = [0]; statement.eligibleMinor = [100]
                    statement.linesJSON = ["[]"]; statement.paidAtMilliseconds = [EarningTests.nowMilliseconds()]
                    statement.breakdownJSON = ["[]"]; statement.fundingJSON = ["[]"]; statement.earnedPoints = [0]
                    statement.availableAtMilliseconds = [EarningTests.nowMilliseconds()]; statement.expiresAtMilliseconds = [0]
                    statement.pointsSpent = [0]; statement.spendLinesJSON = ["[]"]; statement.couponsJSON = ["[]"]
                    statement.dailyMemberIds = [member.id]; statement.dailyMerchantIds = [merchant.id]
                    statement.dailyLocalDays = ["2026-12-0\(attempt + 1)"]; statement.dailyPoints = [0]; statement.dailyPointsBefore = [0]
                    for try await _ in try await connection.execute(statement, logger: server.logger) {}
                }
                var scans = RolledBack(sequential: -1, indexed: -1)
                for try await (sequential, indexed) in try await connection.query("""
                    SELECT coalesce(seq_scan, 0), coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = 'member_daily_earnings'
                    """, logger: server.logger).decode((Int64, Int64).self) { scans = RolledBack(sequential: sequential, indexed: indexed) }
                throw scans
            }
        }
        #expect(error?.sequential == 0)
        #expect((error?.indexed ?? 0) >= 8, "one probe per batch")
    }

    @Test func eachOrderOfABatchSeesTheCapsAndBudgetsLeftByTheOnesBefore() async throws {
        let server = try await TestServer.shared.start()
        let store = OrderStore(db: Database(client: server.client, logger: server.logger))
        let fixture = try await MallFixture.create()
        let mallId = fixture.mall.id
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000, dailyCap: 150)
        let shop = try await fixture.merchant(category: .fashion).merchant
        let closed = try await fixture.merchant(category: .fashion).merchant
        _ = try await fixture.hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = closed.id; $0.reason = "audit" }, metadata: fixture.hq.metadata)
        let now = EarningTests.nowMilliseconds()
        _ = try await fixture.hq.hq.createCampaign(.with {
            $0.requestID = Unique.requestId()
            $0.campaign = .with {
                $0.name = "20 bonus points while 30 last"
                $0.startsAtUnixMs = now - 60_000
                $0.endsAtUnixMs = now + 3_600_000
                $0.bonusPoints = 20
                $0.budgetPoints = 30
            }
        }, metadata: fixture.hq.metadata)
        let member = try await fixture.member()
        let frozen = try await fixture.member()
        _ = try await fixture.hq.members.freezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = frozen.id; $0.reason = "abuse" }, metadata: fixture.hq.metadata)
        let code = MemberStore.LookupKey.memberCode(member.memberCode)

        // Before the batch: 10 base + 20 bonus; the budget has 10 left, the day's cap 120.
        let first = try await store.record(mallId: mallId, [Self.submission("R-1", merchant: shop.id, member: code, amountMinor: 10_000, hash: 7)])
        #expect(try first[0].get().order.earnedPoints == 30)

        let batch = [
            Self.submission("B-1", merchant: shop.id, member: code, amountMinor: 50_000),  // 50 + 10 left of the budget
            Self.submission("B-2", merchant: shop.id, member: .phone(member.phone), amountMinor: 100_000),  // 100, capped to the 60 left today
            Self.submission("B-3", merchant: shop.id, member: code, amountMinor: 20_000),  // the cap is reached: 0
            Self.submission("B-4", merchant: shop.id, member: .memberCode("NOBODY"), amountMinor: 10_000),
            Self.submission("B-5", merchant: shop.id, member: .memberCode(frozen.memberCode), amountMinor: 10_000),
            Self.submission("B-6", merchant: closed.id, member: code, amountMinor: 10_000),
            Self.submission("R-1", merchant: shop.id, member: code, amountMinor: 10_000, hash: 7),  // a retry
            Self.submission("R-1", merchant: shop.id, member: code, amountMinor: 99_000, hash: 8),  // a reused number
        ]
        let results = try await store.record(mallId: mallId, batch)
        #expect(try results[0].get().order.earnedPoints == 60)
        #expect(try results[0].get().order.breakdown.map(\.points) == [50, 10])
        #expect(try results[1].get().order.earnedPoints == 60)
        #expect(try results[2].get().order.earnedPoints == 0)
        #expect(throws: DomainError.notFound("member")) { try results[3].get() }
        #expect(throws: DomainError.failedPrecondition(.memberFrozen, "member \(frozen.memberCode) is frozen")) { try results[4].get() }
        #expect(throws: DomainError.failedPrecondition(.merchantSuspended, "merchant \(closed.id) is suspended")) { try results[5].get() }
        #expect(try results[6].get().replayed == true)
        #expect(try results[6].get().order.earnedPoints == 30)
        #expect(throws: DomainError.alreadyExists("order R-1 was already submitted with different content")) { try results[7].get() }

        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 150)
        let campaigns = try await fixture.hq.hq.listCampaigns(Atrium_V1_ListCampaignsRequest(), metadata: fixture.hq.metadata).campaigns
        #expect(campaigns.map(\.spentPoints) == [30])
        let pos = try await fixture.hq.with(key: fixture.hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = shop.id; $0.label = "POS"
        }, metadata: fixture.hq.metadata).key.secret)
        let recorded = try await pos.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: pos.metadata).orders
        #expect(recorded.map(\.orderNumber) == ["B-3", "B-2", "B-1", "R-1"])
        #expect(recorded.map(\.earnedPoints) == [0, 60, 60, 30])
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// Over gRPC, many tills at once: good orders, orders for nobody and reused numbers arrive
    /// together (members of another mall, reused numbers); each caller hears its own answer and the
    /// good orders all count.
    @Test func refusedOrdersDoNotFailTheOrdersSubmittedWithThem() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.supermarket, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .supermarket).api
        var members: [Atrium_V1_Member] = []
        for _ in 0..<8 { members.append(try await fixture.member()) }
        let nobody = try await MallFixture.create().member()  // a member of another mall
        _ = try await pos.submit("DUP", member: members[0], amountMinor: 5_000)

        enum Outcome: Equatable { case earned(Int64), refused(RPCError.Code) }
        let outcomes = await withTaskGroup(of: (String, Outcome).self) { group in
            for i in 0..<48 {
                let (number, member, amount): (String, Atrium_V1_Member, Int64) = switch i % 6 {
                case 0: ("X-\(i)", nobody, 10_000)
                case 1: ("DUP", members[0], 7_000)
                default: ("G-\(i)", members[i % members.count], Int64(i) * 1_000)
                }
                group.addTask {
                    do {
                        return (number + "#\(i)", .earned(try await pos.submit(number, member: member, amountMinor: amount).order.earnedPoints))
                    } catch let error as RPCError {
                        return (number + "#\(i)", .refused(error.code))
                    } catch {
                        return (number + "#\(i)", .refused(.unknown))
                    }
                }
            }
            var outcomes: [String: Outcome] = [:]
            for await (key, outcome) in group { outcomes[key] = outcome }
            return outcomes
        }
        var expected: [String: Outcome] = [:]
        var earnedByMember: [Int64: Int64] = [members[0].id: 5]
        for i in 0..<48 {
            switch i % 6 {
            case 0: expected["X-\(i)#\(i)"] = .refused(.notFound)
            case 1: expected["DUP#\(i)"] = .refused(.alreadyExists)
            default:
                expected["G-\(i)#\(i)"] = .earned(Int64(i))
                earnedByMember[members[i % members.count].id, default: 0] += Int64(i)
            }
        }
        #expect(outcomes == expected)
        for member in members {
            #expect(try await fixture.balance(member.id).availablePoints == earnedByMember[member.id] ?? 0)
        }
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// The rules cache: a change made through this server applies to the very next order; one
    /// made through another server (here: another store with its own cache) within the TTL.
    @Test func ruleChangesApplyAtOnceHereAndWithinTheCacheLifetimeElsewhere() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let (shop, pos) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        let hq = fixture.hq
        #expect(try await pos.submit("C-1", member: member, amountMinor: 10_000).order.earnedPoints == 10)

        _ = try await hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id; $0.reason = "audit" }, metadata: hq.metadata)
        await expectStatus(.failedPrecondition, mentioning: "suspended") { try await pos.submit("C-2", member: member, amountMinor: 10_000) }
        _ = try await hq.hq.reactivateMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id }, metadata: hq.metadata)
        #expect(try await pos.submit("C-3", member: member, amountMinor: 10_000).order.earnedPoints == 10)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 3, stepMinor: 1_000)
        #expect(try await pos.submit("C-4", member: member, amountMinor: 10_000).order.earnedPoints == 30)
        let now = EarningTests.nowMilliseconds()
        let campaign = try await hq.hq.createCampaign(.with {
            $0.requestID = Unique.requestId()
            $0.campaign = .with { $0.name = "Bonus"; $0.startsAtUnixMs = now - 60_000; $0.endsAtUnixMs = now + 3_600_000; $0.bonusPoints = 5 }
        }, metadata: hq.metadata).campaign
        #expect(try await pos.submit("C-5", member: member, amountMinor: 10_000).order.earnedPoints == 35)
        _ = try await hq.hq.endCampaign(.with { $0.requestID = Unique.requestId(); $0.campaignID = campaign.id }, metadata: hq.metadata)
        #expect(try await pos.submit("C-6", member: member, amountMinor: 10_000).order.earnedPoints == 30)

        // Another server: its cache keeps what it read until its lifetime ends. The lifetime is long
        // enough that E-2 comes within it while the whole suite loads the machine (at 500 ms it
        // once did not).
        let elsewhere = OrderStore(db: Database(client: server.client, logger: server.logger, rulesCache: RulesCache(ttl: .seconds(3))))
        let code = MemberStore.LookupKey.memberCode(member.memberCode)
        #expect(try await elsewhere.record(mallId: fixture.mall.id, [Self.submission("E-1", merchant: shop.id, member: code, amountMinor: 10_000)])[0].get().order.earnedPoints == 30)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 2, stepMinor: 1_000)
        #expect(try await elsewhere.record(mallId: fixture.mall.id, [Self.submission("E-2", merchant: shop.id, member: code, amountMinor: 10_000)])[0].get().order.earnedPoints == 30)
        try await Task.sleep(for: .milliseconds(3_100))
        #expect(try await elsewhere.record(mallId: fixture.mall.id, [Self.submission("E-3", merchant: shop.id, member: code, amountMinor: 10_000)])[0].get().order.earnedPoints == 20)
        #expect(try await fixture.balance(member.id).availablePoints == 10 + 10 + 30 + 35 + 30 + 30 + 30 + 20)
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// Two servers (two stores, each with its own batcher) record orders of one member at once:
    /// the second waits for the first's member lock, and must then count what the first earned
    /// towards the day's cap rather than what its own statement's snapshot showed.
    @Test func twoServersRecordingOneMemberAtOnceKeepItsDailyCap() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let mallId = fixture.mall.id
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000, dailyCap: 150)
        let shop = try await fixture.merchant(category: .fashion).merchant
        let member = try await fixture.member()
        let code = MemberStore.LookupKey.memberCode(member.memberCode)
        let db = Database(client: server.client, logger: server.logger)
        let servers = [OrderStore(db: db), OrderStore(db: Database(client: server.client, logger: server.logger))]
        let held = AsyncStream<Void>.makeStream()
        let release = Gate()
        // A third party holds the member's lock until both servers are waiting for it.
        let holder = Task {
            try await db.withMall(mallId) { connection in
                try await connection.query("SELECT 1 FROM members WHERE mall_id = \(mallId) AND id = \(member.id) FOR UPDATE", logger: server.logger)
                held.continuation.yield()
                await release.wait()
            }
        }
        for await _ in held.stream { break }
        let earned = try await withThrowingTaskGroup(of: Int64.self) { group in
            for (i, store) in servers.enumerated() {
                group.addTask {
                    try await store.record(mallId: mallId, [Self.submission("CAP-\(i)", merchant: shop.id, member: code, amountMinor: 200_000)])[0].get().order.earnedPoints
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            await release.open()
            var earned: [Int64] = []
            for try await points in group { earned.append(points) }
            return earned.sorted()
        }
        try await holder.value
        #expect(earned == [0, 150], "the cap is 150 a day, whoever records")
        #expect(try await fixture.balance(member.id).availablePoints == 150)
        #expect(try await fixture.ledgerViolations() == [])
    }
}
