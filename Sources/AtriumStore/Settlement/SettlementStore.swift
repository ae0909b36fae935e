import AtriumDomain
import Logging
import PostgresNIO

public struct SettlementPeriodRow: Sendable, Equatable {
    public var id: Int64
    public var startsAtMilliseconds: Int64
    public var endsAtMilliseconds: Int64
    public var closedAtMilliseconds: Int64
    /// Clearing entries (funder postings) the period's statements sum.
    public var entries: Int64
    public var statements: Int32
}

public struct StatementRow: Sendable, Equatable {
    public var id: Int64
    public var periodId: Int64
    public var statement: Statement
}

/// Closes settlement periods and reads their statements (see migration 10).
///
/// A period holds the journals recorded in [starts_at, ends_at) by the database's clock: a
/// journal's time is its transaction's start. A close therefore waits (answers UNAVAILABLE) while
/// any transaction that began before the period's end is still running, since it may still
/// commit journals of the period; once none is, the period's journals are all committed and
/// visible, and later journals can only be later. An event whose transaction commits after the
/// close is stamped after the end and falls into the next period.
public struct SettlementStore: Sendable {
    /// A close reads every journal of its period: allowed longer than an ordinary transaction.
    static let closeTimeout: Duration = .seconds(120)

    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Closes the period that ends at `endsAtMilliseconds` and starts where the last one ended
    /// (the first at the mall's creation). Closing an already closed period returns it unchanged
    /// (`replayed`), so the end is the call's idempotency key.
    public func closePeriod(mallId: Int64, endsAtMilliseconds: Int64) async throws -> (period: SettlementPeriodRow, replayed: Bool) {
        try await db.withMall(mallId, limits: .job, timeout: Self.closeTimeout) { connection in
            if let closed = try await period(mallId: mallId, endingAt: endsAtMilliseconds, on: connection) { return (closed, true) }
            let opening = try await opening(mallId: mallId, on: connection)
            guard endsAtMilliseconds > opening.startsAtMilliseconds else {
                // A concurrent close of this very period may have committed between the two reads.
                if let closed = try await period(mallId: mallId, endingAt: endsAtMilliseconds, on: connection) { return (closed, true) }
                throw DomainError.failedPrecondition(.periodBeforeLastClosed, "period_end must be after the end of the last closed period, \(StatementCSV.iso8601(opening.startsAtMilliseconds))")
            }
            guard endsAtMilliseconds <= opening.nowMilliseconds else { throw DomainError.failedPrecondition(.periodNotEnded, "period_end is in the future: a period closes once it has ended") }
            try await requireNoneInFlight(mallId: mallId, before: endsAtMilliseconds, on: connection)
            let totals = try await clearingTotals(mallId: mallId, from: opening.startsAtMilliseconds, until: endsAtMilliseconds, on: connection)
            let statements = try Settlement.statements(totals: totals, valuation: opening.valuation)
            let entries = totals.reduce(Int64(0)) { $0 + $1.entries }
            guard let period = try await insertPeriod(
                mallId: mallId, startsAt: opening.startsAtMilliseconds, endsAt: endsAtMilliseconds, entries: entries, statements: Int32(statements.count), on: connection)
            else {
                // Another close of the same start committed first.
                if let closed = try await period(mallId: mallId, endingAt: endsAtMilliseconds, on: connection) { return (closed, true) }
                throw DomainError.failedPrecondition(.concurrentClose, "another close of this mall, with a different period_end, ran at the same time")
            }
            try await insertStatements(mallId: mallId, periodId: period.id, statements, on: connection)
            return (period, false)
        }
    }

    struct Opening {
        var valuation: PointValuation
        var startsAtMilliseconds: Int64
        var nowMilliseconds: Int64
    }

    private func opening(mallId: Int64, on connection: PostgresConnection) async throws -> Opening {
        let rows = try await connection.query("""
            SELECT m.issue_points, m.issue_value_minor, m.breakage_mall_share_basis_points, m.redeem_points, m.redeem_value_minor,
                epoch_ms(coalesce((SELECT max(ends_at) FROM settlement_periods WHERE mall_id = \(mallId)), m.created_at)), epoch_ms(now())
            FROM malls m WHERE m.id = \(mallId)
            """, logger: logger)
        for try await (points, value, share, redeemPoints, redeemValue, startsAt, now) in rows.decode((Int64, Int64, Int32, Int64, Int64, Int64, Int64).self) {
            return Opening(valuation: PointValuation(
                                issuePoints: points, issueValueMinor: value, breakageMallShareBasisPoints: share, redeemPoints: redeemPoints,
                                redeemValueMinor: redeemValue),
                           startsAtMilliseconds: startsAt, nowMilliseconds: now)
        }
        throw DomainError.notFound("mall \(mallId)")
    }

    /// Refuses while a transaction that began before `endsAt` and can write this mall's journals
    /// runs: it may still commit journals stamped inside the period. Only client sessions of this
    /// server's own role can write the ledger, so autovacuum and other roles' sessions (a backup's
    /// hours-long snapshot, an operator's psql) do not hold a close up; and a transaction names its
    /// mall in `application_name` (`Database.mallSettings`), so another mall's long ledger check
    /// does not either. A transaction not (yet) naming a mall counts: it might be this one's.
    private func requireNoneInFlight(mallId: Int64, before endsAtMilliseconds: Int64, on connection: PostgresConnection) async throws {
        let mine = Database.applicationName(mallId)
        let rows = try await connection.query("""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND usename = current_user AND backend_type = 'client backend'
                AND pid <> pg_backend_pid() AND xact_start < from_epoch_ms(\(endsAtMilliseconds))
                AND (application_name = \(mine) OR application_name NOT LIKE 'atrium/mall/%')
            """, logger: logger)
        for try await running in rows.decode(Int64.self) where running > 0 {
            throw DomainError.unavailable("\(running) transactions begun before period_end are still running; retry the close")
        }
    }

    /// The funder postings of merchants and partners in the period's journals, summed per party
    /// and journal kind. The period's journals are found through the BRIN index on their time;
    /// their postings through the primary key, over the ids those journals span.
    private func clearingTotals(mallId: Int64, from startsAt: Int64, until endsAt: Int64, on connection: PostgresConnection) async throws -> [ClearingTotal] {
        try await connection.query("SET LOCAL jit = off", logger: logger)
        let rows = try await connection.query("""
            WITH j AS MATERIALIZED (
                SELECT id, kind FROM journals
                WHERE mall_id = \(mallId) AND created_at >= from_epoch_ms(\(startsAt)) AND created_at < from_epoch_ms(\(endsAt))
            ), span AS (SELECT min(id) AS lo, max(id) AS hi FROM j)
            SELECT p.account_kind, p.account_owner_id, j.kind, count(*), sum(p.points)::bigint
            FROM postings p JOIN j ON j.id = p.journal_id
            WHERE p.mall_id = \(mallId) AND p.journal_id BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span) AND p.account_kind IN (2, 3)
            GROUP BY 1, 2, 3
            """, logger: logger)
        var totals: [ClearingTotal] = []
        for try await (partyKind, partyId, kind, entries, points) in rows.decode((Int16, Int64, Int16, Int64, Int64).self) {
            guard let party = Funder(kind: partyKind, ownerId: partyId), let kind = JournalKind(rawValue: kind) else {
                preconditionFailure("the schema's checks admit only known account and journal kinds")
            }
            totals.append(ClearingTotal(party: party, kind: kind, entries: entries, points: points))
        }
        // Entries in money (coupon subsidies), summed the same way.
        for try await (partyKind, partyId, kind, entries, amount) in try await connection.query("""
            SELECT party_kind, party_id, kind, count(*), sum(amount_minor)::bigint FROM clearing_entries
            WHERE mall_id = \(mallId) AND created_at >= from_epoch_ms(\(startsAt)) AND created_at < from_epoch_ms(\(endsAt))
            GROUP BY 1, 2, 3
            """, logger: logger).decode((Int16, Int64, Int16, Int64, Int64).self) {
            guard let party = Funder(kind: partyKind, ownerId: partyId), let kind = JournalKind(rawValue: kind) else {
                preconditionFailure("the schema's checks admit only known party and clearing kinds")
            }
            totals.append(ClearingTotal(party: party, kind: kind, entries: entries, amountMinor: amount))
        }
        return totals
    }

    private func insertPeriod(
        mallId: Int64, startsAt: Int64, endsAt: Int64, entries: Int64, statements: Int32, on connection: PostgresConnection
    ) async throws -> SettlementPeriodRow? {
        let rows = try await connection.query("""
            INSERT INTO settlement_periods (mall_id, starts_at, ends_at, entries, statements)
            VALUES (\(mallId), from_epoch_ms(\(startsAt)), from_epoch_ms(\(endsAt)), \(entries), \(statements))
            ON CONFLICT DO NOTHING
            RETURNING \(unescaped: Self.periodColumns)
            """, logger: logger)
        return try await Self.decodePeriods(rows).first
    }

    private func insertStatements(mallId: Int64, periodId: Int64, _ statements: [Statement], on connection: PostgresConnection) async throws {
        guard !statements.isEmpty else { return }
        let lines = statements.flatMap { statement in statement.lines.map { (statement.party, $0) } }
        // Two single-table statements (Citus routes neither a WITH of writes nor, without
        // RETURNING, an INSERT … SELECT under row-level security): the statements, then their lines.
        var statementIds: [Funder: Int64] = [:]
        for try await (id, kind, owner) in try await connection.query("""
            INSERT INTO settlement_statements (mall_id, period_id, party_kind, party_id, net_minor)
            SELECT \(mallId), \(periodId), k, i, n
            FROM unnest(\(statements.map(\.party.kind))::smallint[], \(statements.map(\.party.ownerId))::bigint[], \(statements.map(\.netMinor))::bigint[]) AS x(k, i, n)
            RETURNING id, party_kind, party_id
            """, logger: logger).decode((Int64, Int16, Int64).self) {
            guard let party = Funder(kind: kind, ownerId: owner) else { preconditionFailure("party_kind is checked by the schema") }
            statementIds[party] = id
        }
        let lineStatementIds = lines.map { party, _ in
            guard let id = statementIds[party] else { preconditionFailure("every line's statement was just inserted") }
            return id
        }
        var written = 0
        for try await _ in try await connection.query("""
            INSERT INTO settlement_lines (mall_id, statement_id, kind, entries, points, amount_minor)
            SELECT \(mallId), l.statement_id, l.kind, l.entries, l.points, l.amount
            FROM unnest(\(lineStatementIds)::bigint[], \(lines.map(\.1.kind.rawValue))::smallint[], \(lines.map(\.1.entries))::bigint[],
                \(lines.map(\.1.points))::bigint[], \(lines.map(\.1.amountMinor))::bigint[]) AS l(statement_id, kind, entries, points, amount)
            RETURNING kind
            """, logger: logger) { written += 1 }
        guard written == lines.count else { throw DomainError.unavailable("settlement lines were not all written; retry") }
    }

    // MARK: Reads

    public func periods(mallId: Int64, afterId: Int64, limit: Int) async throws -> [SettlementPeriodRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decodePeriods(connection.query("""
                SELECT \(unescaped: Self.periodColumns) FROM settlement_periods WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    public func period(mallId: Int64, id: Int64) async throws -> SettlementPeriodRow {
        try await db.withMall(mallId) { connection in
            guard let period = try await Self.decodePeriods(connection.query("""
                SELECT \(unescaped: Self.periodColumns) FROM settlement_periods WHERE mall_id = \(mallId) AND id = \(id)
                """, logger: logger)).first else { throw DomainError.notFound("settlement period \(id)") }
            return period
        }
    }

    private func period(mallId: Int64, endingAt endsAt: Int64, on connection: PostgresConnection) async throws -> SettlementPeriodRow? {
        try await Self.decodePeriods(connection.query("""
            SELECT \(unescaped: Self.periodColumns) FROM settlement_periods WHERE mall_id = \(mallId) AND ends_at = from_epoch_ms(\(endsAt))
            """, logger: logger)).first
    }

    /// Statements in id order (the mall's first in each period), of one period (`periodId` > 0)
    /// and/or one party (`party` non-nil), with their lines.
    public func statements(mallId: Int64, periodId: Int64, party: Funder?, afterId: Int64, limit: Int) async throws -> [StatementRow] {
        try await db.withMall(mallId) { connection in
            let rows = try await connection.query("""
                SELECT id, period_id, party_kind, party_id, net_minor FROM settlement_statements
                WHERE mall_id = \(mallId) AND id > \(afterId) AND (\(periodId) = 0 OR period_id = \(periodId))
                    AND (\(party == nil) OR (party_kind = \(party?.kind ?? 0) AND party_id = \(party?.ownerId ?? 0)))
                ORDER BY id LIMIT \(limit)
                """, logger: logger)
            var heads: [(id: Int64, periodId: Int64, party: Funder, netMinor: Int64)] = []
            for try await (id, periodId, kind, partyId, net) in rows.decode((Int64, Int64, Int16, Int64, Int64).self) {
                guard let party = Funder(kind: kind, ownerId: partyId) else { preconditionFailure("party_kind is checked by the schema") }
                heads.append((id, periodId, party, net))
            }
            let lines = try await lines(mallId: mallId, statementIds: heads.map(\.id), on: connection)
            return try heads.map { head in
                let statement = try Statement(party: head.party, lines: lines[head.id] ?? [])
                guard statement.netMinor == head.netMinor else {
                    throw DomainError.failedPrecondition(.ledgerInconsistent, "statement \(head.id)'s net is not the sum of its lines")
                }
                return StatementRow(id: head.id, periodId: head.periodId, statement: statement)
            }
        }
    }

    private func lines(mallId: Int64, statementIds: [Int64], on connection: PostgresConnection) async throws -> [Int64: [StatementLine]] {
        guard !statementIds.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT statement_id, kind, entries, points, amount_minor FROM settlement_lines
            WHERE mall_id = \(mallId) AND statement_id = ANY(\(statementIds)) ORDER BY statement_id, kind
            """, logger: logger)
        var result: [Int64: [StatementLine]] = [:]
        for try await (statementId, kind, entries, points, amount) in rows.decode((Int64, Int16, Int64, Int64, Int64).self) {
            guard let kind = JournalKind(rawValue: kind) else { preconditionFailure("kind is checked by the schema") }
            result[statementId, default: []].append(StatementLine(kind: kind, entries: entries, points: points, amountMinor: amount))
        }
        return result
    }

    static let periodColumns = "id, epoch_ms(starts_at), epoch_ms(ends_at), epoch_ms(closed_at), entries, statements"

    static func decodePeriods(_ rows: PostgresRowSequence) async throws -> [SettlementPeriodRow] {
        var result: [SettlementPeriodRow] = []
        for try await (id, startsAt, endsAt, closedAt, entries, statements) in rows.decode((Int64, Int64, Int64, Int64, Int64, Int32).self) {
            result.append(SettlementPeriodRow(
                id: id, startsAtMilliseconds: startsAt, endsAtMilliseconds: endsAt, closedAtMilliseconds: closedAt, entries: entries, statements: statements))
        }
        return result
    }
}

extension SettlementStore {
    /// A closed period's statements as CSV, named after the mall and the period. Statements are
    /// immutable, so the reads need not share a transaction.
    public func export(mallId: Int64, periodId: Int64) async throws -> (fileName: String, csv: String) {
        let period = try await period(mallId: mallId, id: periodId)
        guard let mall = try await db.withoutMall({ connection in try await MallStore.mall(mallId, on: connection, logger: logger) }) else {
            throw DomainError.notFound("mall \(mallId)")
        }
        let rows = try await statements(mallId: mallId, periodId: periodId, party: nil, afterId: 0, limit: Limits.statementsExportedMax + 1)
        guard rows.count <= Limits.statementsExportedMax else {
            throw DomainError.failedPrecondition(.answerTooLarge, "the period has more than \(Limits.statementsExportedMax) statements; page through ListStatements")
        }
        let csv = StatementCSV.render(
            periodId: period.id, startsAtMilliseconds: period.startsAtMilliseconds, endsAtMilliseconds: period.endsAtMilliseconds,
            currencyCode: mall.settings.currencyCode, statements: rows.map(\.statement))
        return ("statements-\(mall.code)-\(period.id).csv", csv)
    }
}
