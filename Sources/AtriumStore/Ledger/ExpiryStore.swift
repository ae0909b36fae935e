import AtriumDomain
import Logging
import PostgresNIO

/// What one expiry pass did.
public struct ExpiryTally: Sendable, Equatable {
    public var lotsExpired: Int64 = 0
    public var pointsExpired: Int64 = 0
    /// Members who lost points: one expiry journal each per batch.
    public var membersDebited: Int64 = 0

    public init() {}

    public static func + (a: ExpiryTally, b: ExpiryTally) -> ExpiryTally {
        var sum = a
        sum.lotsExpired += b.lotsExpired
        sum.pointsExpired += b.pointsExpired
        sum.membersDebited += b.membersDebited
        return sum
    }
}

/// Expires points whose lots have reached their expiry, exactly once per lot.
///
/// A batch is one transaction over up to `Limits.expiryBatchMembersMax` members whose
/// `expiry_due_at` has passed (migration 9): it locks them in id order, the order every order
/// batch locks its members in, so the two never deadlock; then one statement takes every due lot
/// of theirs to zero, posts one expiry journal per member (the member's account down, each
/// funder's up by what it funded: the liability goes back to the funder as breakage), lowers the
/// cached balance and moves `expiry_due_at` to the next live lot. Anyone else who changes a
/// member's lots holds that member's lock, so a lot is read and expired by one transaction only:
/// two sweeps at once (two servers) expire each lot once.
public struct ExpiryStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Runs batches until nothing is due at `asOfMilliseconds` or `budget` has passed (checked
    /// between batches). Returns what was done and whether members are still due.
    ///
    /// `Limits.expiryWorkers` run at once, each over its own share of the members (by id), so
    /// they never wait for each other's locks: one batch keeps one core of PostgreSQL busy.
    public func expireDue(mallId: Int64, asOfMilliseconds: Int64, budget: Duration) async throws -> (tally: ExpiryTally, moreDue: Bool) {
        let deadline = ContinuousClock.now.advanced(by: budget)
        let workers = Limits.expiryWorkers
        return try await withThrowingTaskGroup(of: (ExpiryTally, Bool).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    let share = Share(count: workers, index: worker)
                    return try await expireDue(mallId: mallId, asOfMilliseconds: asOfMilliseconds, share: share, deadline: deadline)
                }
            }
            var tally = ExpiryTally(), more = false
            for try await (part, partMore) in group {
                tally = tally + part
                more = more || partMore
            }
            return (tally, more)
        }
    }

    /// The members whose id modulo `count` is `index`.
    struct Share: Sendable {
        var count: Int
        var index: Int
        static let all = Share(count: 1, index: 0)
    }

    private func expireDue(mallId: Int64, asOfMilliseconds: Int64, share: Share, deadline: ContinuousClock.Instant) async throws -> (ExpiryTally, Bool) {
        var tally = ExpiryTally()
        while true {
            let (batch, full) = try await expireBatch(mallId: mallId, asOfMilliseconds: asOfMilliseconds, membersMax: Limits.expiryBatchMembersMax, share: share)
            tally = tally + batch
            guard full else { return (tally, false) }
            if ContinuousClock.now >= deadline { return (tally, true) }
        }
    }

    /// One batch; `full` when it took as many members as it could (more may be due).
    func expireBatch(mallId: Int64, asOfMilliseconds: Int64, membersMax: Int, share: Share = .all) async throws -> (tally: ExpiryTally, full: Bool) {
        precondition(membersMax > 0 && membersMax <= Limits.expiryBatchMembersMax)
        return try await db.withMall(mallId, limits: .job, timeout: .seconds(60)) { connection in
            // Compiling the batch's plan (JIT, on by default) cost 95 ms of a 300 ms batch. And
            // no step of it needs a nested loop: each table is reached by its index over the
            // batch's ids. With 500,000 members in the table the planner misjudged a join of
            // the per-member sums and nested-looped over them, 1,000 × 1,000 (0.93 s instead of
            // 0.29 s a batch). SET LOCAL, which Citus forwards to the shard that plans it.
            try await connection.query("SET LOCAL jit = off", logger: logger)
            try await connection.query("SET LOCAL enable_nestloop = off", logger: logger)
            let candidates = try await dueMembers(mallId: mallId, asOfMilliseconds: asOfMilliseconds, limit: membersMax, share: share, on: connection)
            guard !candidates.isEmpty else { return (ExpiryTally(), false) }
            let locked = try await lockDue(mallId: mallId, memberIds: candidates, asOfMilliseconds: asOfMilliseconds, on: connection)
            // A member locked here whose due lots a refund emptied meanwhile only has its
            // expiry_due_at moved on.
            let tally = locked.isEmpty ? ExpiryTally() : try await expire(mallId: mallId, memberIds: locked, asOfMilliseconds: asOfMilliseconds, on: connection)
            return (tally, candidates.count == membersMax)
        }
    }

    /// The members due first, through `members_expiry_due`; not locked, so the walk down the
    /// index may take them in any order.
    private func dueMembers(mallId: Int64, asOfMilliseconds: Int64, limit: Int, share: Share, on connection: PostgresConnection) async throws -> [Int64] {
        try await connection.query("""
            SELECT id FROM members
            WHERE mall_id = \(mallId) AND expiry_due_at <= from_epoch_ms(\(asOfMilliseconds)) AND id % \(share.count) = \(share.index)
            ORDER BY expiry_due_at LIMIT \(limit)
            """, logger: logger).decode(Int64.self).reduce(into: []) { $0.append($1) }
    }

    /// Locks the candidates in id order; one that is no longer due (another sweep was first) is
    /// not returned.
    private func lockDue(mallId: Int64, memberIds: [Int64], asOfMilliseconds: Int64, on connection: PostgresConnection) async throws -> [Int64] {
        try await connection.query("""
            SELECT id FROM members
            WHERE mall_id = \(mallId) AND id = ANY(\(memberIds)) AND expiry_due_at <= from_epoch_ms(\(asOfMilliseconds))
            ORDER BY id FOR UPDATE
            """, logger: logger).decode(Int64.self).reduce(into: []) { $0.append($1) }
    }

    /// The mutation, for members this transaction holds: one call of `expire_lots` (migration 17).
    private func expire(mallId: Int64, memberIds: [Int64], asOfMilliseconds: Int64, on connection: PostgresConnection) async throws -> ExpiryTally {
        let kind = JournalKind.expire.rawValue
        let rows = try await connection.query("""
            SELECT lots, points, members FROM expire_lots(\(mallId), \(memberIds)::bigint[], \(asOfMilliseconds), \(kind))
            """, logger: logger)
        var tally = ExpiryTally()
        for try await (lots, points, members) in rows.decode((Int64, Int64, Int64).self) {
            tally.lotsExpired = lots
            tally.pointsExpired = points
            tally.membersDebited = members
        }
        return tally
    }
}
