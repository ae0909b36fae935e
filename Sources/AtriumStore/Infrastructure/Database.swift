import AtriumDomain
import Logging
import NIOCore
import PostgresNIO

/// The one way the store talks to PostgreSQL: a transaction scoped to one mall.
///
/// `withMall` sets `atrium.mall_id` for the transaction first, so row-level security admits only that
/// mall's rows even when a query forgets its `mall_id` filter. Serialization failures and
/// deadlocks are retried a bounded number of times; a database that cannot be reached becomes
/// `DomainError.unavailable` after `acquireTimeout`.
public struct Database: Sendable {
    public static let retriesMax = 3
    public static let acquireTimeout: Duration = .seconds(10)

    public let client: PostgresClient
    let logger: Logger
    /// Shared by every store over this database: readers fill it, rule changes drop it.
    public let rulesCache: RulesCache
    /// The coupon templates the till has read; never stale (`CouponTemplateCache`).
    public let couponTemplates = CouponTemplateCache()

    /// The database is a Citus coordinator: session settings do not reach the workers, so every
    /// transaction sets its time limits itself (`TransactionLimits.settings`).
    public let citus: Bool

    public init(client: PostgresClient, logger: Logger, rulesCache: RulesCache = RulesCache(), citus: Bool = false) {
        self.client = client
        self.logger = logger
        self.rulesCache = rulesCache
        self.citus = citus
    }

    /// How the transaction's statements are planned.
    public enum Planning: Sendable {
        /// The plan cached with a prepared statement, made without looking at the values: the
        /// session's default (`sessionParameters`), so it costs the till no statement. For the
        /// till's reads and write: the member read cost more to plan afresh on each call (0.5 ms)
        /// than to run, and a plan made for one `mall_id` trusts statistics that may not know
        /// that mall yet (it once expected one member of a new mall of 1,000, and read them all).
        /// A statistics update (ANALYZE, autovacuum) drops cached plans, so a plan made while a
        /// table was empty does not outlive the table's first analysis.
        case cached
        /// PostgreSQL's default (`plan_cache_mode = auto`): plans each call for its values until
        /// a cached plan looks no worse. For the HQ and platform transactions, whose ad-hoc
        /// queries are planned for their values; costs one statement more.
        case perCall
    }

    /// The session settings every pooled connection starts with; add them to the pool's
    /// `additionalStartupParameters`: the till's server-side time limits (`TransactionLimits`),
    /// and on plain PostgreSQL generic plans (`Planning.cached`). On Citus, generic plans of
    /// statements that join tables cannot be distributed, so plans are made per call; and the
    /// mall setting (`SET LOCAL atrium.mall_id`) must reach the shards, whose row-level security
    /// reads it, which Citus does only with `citus.propagate_set_commands = local`.
    public static func sessionParameters(citus: Bool) -> [(String, String)] {
        (citus ? [("citus.propagate_set_commands", "local")] : [("plan_cache_mode", "force_generic_plan")]) + TransactionLimits.sessionParameters
    }

    /// Runs `body` in a transaction that sees only `mallId`'s rows.
    /// `limits` bound its lock waits and statements inside PostgreSQL; `timeout` bounds each
    /// attempt from here, the wait for a pooled connection included.
    public func withMall<T: Sendable>(
        _ mallId: Int64, limits: TransactionLimits = .interactive, timeout: Duration = Database.acquireTimeout, planning: Planning = .perCall,
        cancelling target: Deadline.Target = .child, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        precondition(mallId > 0, "a mall transaction needs a mall")
        return try await transaction(timeout: timeout, cancelling: target, mallId: mallId, planning: planning, limits: limits, body)
    }

    /// Runs `body` in a transaction with no mall set: only global tables (malls, platform keys)
    /// are visible; tenant tables show no rows.
    public func withoutMall<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction(timeout: Self.acquireTimeout, cancelling: .child, mallId: nil, planning: .perCall, limits: .interactive, body)
    }

    /// `target`: which task the deadline cancels (see `Deadline`).
    private func transaction<T: Sendable>(
        timeout: Duration, cancelling target: Deadline.Target, mallId: Int64?, planning: Planning, limits: TransactionLimits,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await Deadline.run(timeout, cancelling: target) { [client, logger] in
                    try await client.withConnection { connection in
                        try await Self.transaction(on: connection, mallId: mallId, planning: planning, limits: limits, citus: citus, logger: logger, body)
                    }
                }
            } catch {
                let mapped = StoreErrors.map(error)
                if case .retry = mapped, attempt < Self.retriesMax { continue }
                throw mapped.error
            }
        }
    }

    /// BEGIN, the settings and the body's first statement are handed to the connection together,
    /// without awaiting each answer: postgres-nio queues them on the connection's event loop and
    /// sends each as soon as PostgreSQL has answered the one before, so this task waits once for
    /// all of them instead of being woken between them (measured: the gaps before a SubmitOrder
    /// batch's member lock fell from 1.7 to 0.9 ms; throughput +3 %). COMMIT is sent the same
    /// way, and the answers of BEGIN, the settings and COMMIT are awaited together.
    ///
    /// Had BEGIN or the mall setting failed, the body's statements ran with no mall set, where
    /// row-level security shows no rows of any mall and refuses every write to one; a failed
    /// setting aborts the transaction, so COMMIT rolls it back; either way the failure is thrown.
    private static func transaction<T: Sendable>(
        on connection: PostgresConnection, mallId: Int64?, planning: Planning, limits: TransactionLimits, citus: Bool, logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let opened = begin(on: connection, mallId: mallId, planning: planning, limits: limits, citus: citus, logger: logger)
        return try await finish(on: connection, opened: opened, logger: logger, body)
    }

    /// Queues BEGIN and the transaction's settings on `connection` without awaiting them.
    static func begin(
        on connection: PostgresConnection, mallId: Int64?, planning: Planning, limits: TransactionLimits, citus: Bool, logger: Logger
    ) -> EventLoopFuture<Void> {
        var prelude: [EventLoopFuture<PostgresQueryResult>] = [connection.query("BEGIN", logger: logger)]
        if let mallId { prelude += mallSettings(mallId).map { connection.query($0, logger: logger) } }
        if case .perCall = planning { prelude.append(connection.query("SET LOCAL plan_cache_mode = auto", logger: logger)) }
        for setting in limits.settings(sessionDefaultsApply: !citus) { prelude.append(connection.query(setting, logger: logger)) }
        return EventLoopFuture.andAllSucceed(prelude, on: connection.eventLoop)
    }

    /// Runs `body` in the transaction `begin` opened, then COMMIT, awaited together with `opened`;
    /// ROLLBACK when `body` throws.
    static func finish<T>(
        on connection: PostgresConnection, opened: EventLoopFuture<Void>, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let value: T
        do {
            value = try await body(connection)
        } catch {
            // Queued behind whatever is still in flight; on a broken connection it fails too,
            // and the pool drops that connection. Not sent on a closed one: it would never be
            // answered.
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
        let commit: EventLoopFuture<PostgresQueryResult> = connection.query("COMMIT", logger: logger)
        _ = try await opened.and(commit).get()
        return value
    }
}

/// Turns PostgreSQL failures into domain errors: what a client may retry, and what it may not.
enum StoreErrors {
    enum Mapped {
        case retry(any Error)
        case final(any Error)

        var error: any Error {
            switch self {
            case .retry(let e), .final(let e): e
            }
        }
    }

    /// Whether a connection is fit for the next transaction after `error` ended one: yes after
    /// PostgreSQL refused a statement or the body threw an error of its own (the transaction was
    /// rolled back); no when the connection failed, was cancelled or was ended by the server.
    static func leavesConnectionUsable(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        guard let psql = error as? PSQLError else { return true }
        guard psql.code == .server, let state = psql.serverInfo?[.sqlState] else { return false }
        return !(state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"))
    }

    static func map(_ error: any Error) -> Mapped {
        if let domain = error as? DomainError { return .final(domain) }
        if let psql = error as? PSQLError {
            if psql.code == .server, let state = psql.serverInfo?[.sqlState] {
                switch state {
                case "40001", "40P01": return .retry(DomainError.unavailable("conflicting concurrent update; retry"))
                case "23505": return .final(DomainError.alreadyExists(psql.serverInfo?[.constraintName] ?? "duplicate"))
                case "23503": return .final(DomainError.notFound(psql.serverInfo?[.constraintName] ?? "referenced row"))
                case "23514": return .final(DomainError.failedPrecondition(.checkConstraint, psql.serverInfo?[.constraintName] ?? "check constraint"))
                case "22003": return .final(DomainError.failedPrecondition(.totalOutOfRange, "a total passed the range of its column"))
                // A lock wait past `lock_timeout`: tried again (our own transactions hold a member
                // for milliseconds), then the caller may retry.
                case "55P03": return .retry(DomainError.aborted("a row this request needs is locked by another transaction; retry"))
                case "57014": return .final(DomainError.unavailable("the database statement ran past its time limit; retry later"))
                case "25P03": return .final(DomainError.unavailable("the transaction stayed idle past its time limit; retry"))
                default:
                    if state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") {
                        return .final(DomainError.unavailable("database unavailable (\(state))"))
                    }
                    return .final(error)
                }
            }
            return .final(DomainError.unavailable("database unavailable (\(psql.code))"))
        }
        if error is CancellationError { return .final(error) }
        return .final(error)
    }
}
