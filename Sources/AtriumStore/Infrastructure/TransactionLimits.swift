import PostgresNIO

/// Server-side bounds on what one transaction may wait for, enforced by PostgreSQL itself
/// (`lock_timeout`, `statement_timeout`): a Swift task cancellation cannot stop a statement that
/// PostgreSQL is already running, so a row lock held by someone else (a support engineer's psql, a
/// long report) would otherwise hold the transaction, and every till of the mall queued behind its
/// batch, for as long as the lock is held.
///
/// Pooled connections start with the till's limits (`sessionParameters`), so the path every till
/// waits on sends no statement for them; the other kinds send a `SET LOCAL` per differing value
/// with BEGIN, which ends with the transaction. A lock wait that runs out answers SQLSTATE 55P03
/// and a statement that runs out 57014 (see `StoreErrors`).
public struct TransactionLimits: Sendable, Equatable {
    public var lockTimeoutMilliseconds: Int
    public var statementTimeoutMilliseconds: Int

    /// SubmitOrder batches, refunds, quotes and the till's reads: a member another transaction
    /// holds locked makes only that order fail (ABORTED) after a short wait: a batch gives up
    /// after one wait and records its orders one by one, each of which tries
    /// `Database.retriesMax` times; the other members' orders are recorded (`OrderBatcher`).
    public static let till = TransactionLimits(lockTimeoutMilliseconds: 500, statementTimeoutMilliseconds: 5_000)
    /// HQ, member and platform calls.
    public static let interactive = TransactionLimits(lockTimeoutMilliseconds: 2_000, statementTimeoutMilliseconds: 10_000)
    /// Work over a whole mall: expiry batches, a settlement close, the ledger check.
    public static let job = TransactionLimits(lockTimeoutMilliseconds: 5_000, statementTimeoutMilliseconds: 300_000)

    /// A transaction left open without a statement (a client that stopped mid-way, a lane's
    /// begun transaction whose batch never came) is ended by PostgreSQL after this long, so it
    /// cannot hold locks or a snapshot indefinitely.
    public static let idleInTransactionMilliseconds = 30_000

    /// What every pooled connection starts with: the till's limits.
    static let sessionDefault = TransactionLimits.till

    static var sessionParameters: [(String, String)] {
        [
            ("lock_timeout", "\(sessionDefault.lockTimeoutMilliseconds)"),
            ("statement_timeout", "\(sessionDefault.statementTimeoutMilliseconds)"),
            ("idle_in_transaction_session_timeout", "\(idleInTransactionMilliseconds)"),
        ]
    }

    /// The `SET LOCAL` statements that turn the session's limits into these; all of them where
    /// the session's defaults do not apply everywhere: Citus opens its own connections to the
    /// workers, which get none of the session's startup parameters but do get each `SET LOCAL`
    /// (`citus.propagate_set_commands = local`). A SET takes no bound parameters: the values are
    /// integers of this type, never text from a caller.
    func settings(sessionDefaultsApply: Bool) -> [PostgresQuery] {
        var statements: [PostgresQuery] = []
        if !sessionDefaultsApply || lockTimeoutMilliseconds != Self.sessionDefault.lockTimeoutMilliseconds {
            statements.append(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = \(lockTimeoutMilliseconds)"))
        }
        if !sessionDefaultsApply || statementTimeoutMilliseconds != Self.sessionDefault.statementTimeoutMilliseconds {
            statements.append(PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(statementTimeoutMilliseconds)"))
        }
        return statements
    }
}
