import Logging
import PostgresNIO

/// Hands a mall's background job to one replica at a time (migration 18): `claim` takes the
/// (mall, job) row for `lease` unless another holder's lease is still running, `release` gives it
/// back when the work is done. Each is one short transaction of the mall; nothing is locked while
/// the work runs, and a replica that dies leaves a lease that runs out by itself.
public struct JobLeaseStore: Sendable {
    /// A job's name as stored; at most 40 characters.
    public struct Job: Sendable, Hashable {
        public let name: String
        public static let expirySweep = Job(name: "expiry_sweep")
    }

    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// True when `holder` now holds the job until the lease ends (or held it already). A claim
    /// that finds the row locked by another claim at this very moment gives way (SKIP LOCKED).
    public func claim(mallId: Int64, job: Job, holder: String, lease: Duration) async throws -> Bool {
        precondition(!holder.isEmpty && holder.count <= 200, "holders are ours")
        let leaseMilliseconds = lease.components.seconds * 1_000 + lease.components.attoseconds / 1_000_000_000_000_000
        return try await db.withMall(mallId, limits: .job) { connection in
            try await connection.query("""
                INSERT INTO mall_jobs (mall_id, job) VALUES (\(mallId), \(job.name)) ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            var free: Bool?
            for try await available in try await connection.query("""
                SELECT leased_until IS NULL OR leased_until <= now() OR leased_by = \(holder) FROM mall_jobs
                WHERE mall_id = \(mallId) AND job = \(job.name) FOR UPDATE SKIP LOCKED
                """, logger: logger).decode(Bool.self) { free = available }
            guard free == true else { return false }
            try await connection.query("""
                UPDATE mall_jobs SET leased_by = \(holder), leased_until = now() + \(leaseMilliseconds) * interval '1 millisecond'
                WHERE mall_id = \(mallId) AND job = \(job.name)
                """, logger: logger)
            return true
        }
    }

    /// Ends `holder`'s lease and records when the work finished; another holder's lease stays.
    public func release(mallId: Int64, job: Job, holder: String) async throws {
        try await db.withMall(mallId, limits: .job) { connection in
            _ = try await connection.query("""
                UPDATE mall_jobs SET leased_by = NULL, leased_until = NULL, last_finished_at = now()
                WHERE mall_id = \(mallId) AND job = \(job.name) AND leased_by = \(holder)
                """, logger: logger)
        }
    }
}
