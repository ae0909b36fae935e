import AtriumDomain
import AtriumProto
import Foundation
import GRPCCore
import PostgresNIO
import Testing
@testable import AtriumStore

/// PostgreSQL itself bounds what a transaction waits for: a row lock held outside the server, or
/// a statement that runs too long, ends the request with a retryable status instead of holding
/// it, and every till of the mall behind it, for as long as the outside holds on.
@Suite("Server-side time limits")
struct TimeLimitTests {
    /// An operator's session holds one member's row. That member's order fails fast with
    /// ABORTED and records nothing; the other members' orders of the same mall, submitted at the
    /// same moment, are recorded; once the lock is gone the same order number records.
    @Test(.timeLimit(.minutes(1))) func aMemberLockedOutsideFailsOnlyItsOwnOrderAndFast() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (_, till) = try await fixture.merchant(category: .fashion)
        let locked = try await fixture.member()
        var others: [Atrium_V1_Member] = []
        for _ in 0..<5 { others.append(try await fixture.member()) }
        let mallId = fixture.mall.id
        let members = [locked] + others

        let clock = ContinuousClock()
        let outcomes = try await server.client.withTransaction(logger: server.logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL atrium.mall_id = \(mallId)"), logger: server.logger)
            try await connection.query("SELECT 1 FROM members WHERE mall_id = \(mallId) AND id = \(locked.id) FOR UPDATE", logger: server.logger)
            return await withTaskGroup(of: (Int64, RPCError.Code?, Duration).self) { group in
                for member in members {
                    group.addTask {
                        let start = clock.now
                        do {
                            _ = try await till.submit("L-\(member.id)", member: member, amountMinor: 1_000)
                            return (member.id, nil, clock.now - start)
                        } catch let error as RPCError {
                            return (member.id, error.code, clock.now - start)
                        } catch {
                            return (member.id, .unknown, clock.now - start)
                        }
                    }
                }
                var outcomes: [Int64: (RPCError.Code?, Duration)] = [:]
                for await (id, code, took) in group { outcomes[id] = (code, took) }
                return outcomes
            }
        }
        #expect(outcomes[locked.id]?.0 == .aborted)
        for member in others { #expect(outcomes[member.id]?.0 == nil, "member \(member.id): \(String(describing: outcomes[member.id]))") }
        // The batch's lock wait (500 ms), then the order's own three, and the others recorded one
        // by one: about 2 s (10 s allows for a machine loaded by the rest of the suite), where the
        // lock itself was held until all had answered.
        for (id, outcome) in outcomes { #expect(outcome.1 < .seconds(10), "member \(id) waited \(outcome.1)") }
        #expect(try await fixture.balance(locked.id).availablePoints == 0)
        for member in others { #expect(try await fixture.balance(member.id).availablePoints == 10) }

        let retried = try await till.submit("L-\(locked.id)", member: locked, amountMinor: 1_000)
        #expect(retried.replayed == false && retried.order.earnedPoints == 10)
        #expect(try await fixture.balance(locked.id).availablePoints == 10)
        #expect(try await fixture.ledgerViolations() == [])
    }

    /// A statement past its kind's limit is cancelled by PostgreSQL and answers UNAVAILABLE; the
    /// pooled connection stays fit for the next transaction.
    @Test(.timeLimit(.minutes(1))) func aStatementPastItsLimitIsCancelledByTheDatabase() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        let db = Database(client: server.client, logger: server.logger)
        let short = TransactionLimits(lockTimeoutMilliseconds: 300, statementTimeoutMilliseconds: 200)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: DomainError.unavailable("the database statement ran past its time limit; retry later")) {
            try await db.withMall(fixture.mall.id, limits: short) { connection in
                for try await _ in try await connection.query("SELECT pg_sleep(30)", logger: server.logger) {}
            }
        }
        #expect(clock.now - start < .seconds(5))
        let one = try await db.withMall(fixture.mall.id, limits: short) { connection in
            var value = 0
            for try await one in try await connection.query("SELECT 1", logger: server.logger).decode(Int.self) { value = one }
            return value
        }
        #expect(one == 1)
    }
}
