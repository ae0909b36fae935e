import AtriumDomain
import Foundation
import Logging
import PostgresNIO

public struct BalanceRow: Sendable, Equatable {
    public var availablePoints: Int64
    public var pendingPoints: Int64
    public var expiringWithin30DaysPoints: Int64
    public var debtPoints: Int64
    public var lifetimeEarnedPoints: Int64
    /// Of the available points, those live holds reserve.
    public var heldPoints: Int64
}

public struct JournalRow: Sendable, Equatable {
    public var id: Int64
    public var kind: JournalKind
    public var memberPoints: Int64
    public var orderId: Int64?
    public var merchantId: Int64?
    public var description: String
    public var lines: [StoredEarnLine]
    public var createdAtMilliseconds: Int64
}

public struct LedgerCheck: Sendable, Equatable {
    public var violations: [String]
    public var journalsChecked: Int64
    public var membersChecked: Int64
}

/// Reads of the points ledger, and the check of its invariants.
public struct LedgerStore: Sendable {
    /// A whole-mall scan: allowed longer than an ordinary transaction.
    static let checkTimeout: Duration = .seconds(300)

    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Available = live lots past their pending period, minus debt. Pending lots are shown apart.
    /// With `visibleTo`, only a member that merchant may read by id (`MemberStore.member`).
    public func balance(mallId: Int64, memberId: Int64, nowMilliseconds: Int64, visibleTo merchantId: Int64? = nil) async throws -> BalanceRow {
        try await db.withMall(mallId, limits: .till, planning: .cached) { connection in
            let statement = MemberBalanceStatement(mallId: mallId, memberId: memberId, nowMilliseconds: nowMilliseconds, visibleToMerchantId: merchantId ?? 0)
            for try await (debt, lifetime, available, pending, expiring, held) in try await connection.execute(statement, logger: logger) {
                return BalanceRow(
                    availablePoints: available - debt, pendingPoints: pending, expiringWithin30DaysPoints: expiring, debtPoints: debt,
                    lifetimeEarnedPoints: lifetime, heldPoints: held)
            }
            throw DomainError.notFound("member \(memberId)")
        }
    }

    /// What moved the member's points, newest first; `beforeId` 0 for the first page. Journals
    /// that move only funders' accounts (a debt's repayment) are not the member's transactions.
    public func journals(mallId: Int64, memberId: Int64, beforeId: Int64, limit: Int) async throws -> [JournalRow] {
        try await db.withMall(mallId) { connection in
            let rows = try await connection.query("""
                SELECT id, kind, member_points, order_id, merchant_id, description, lines::text, epoch_ms(created_at)
                FROM journals WHERE mall_id = \(mallId) AND member_id = \(memberId) AND (\(beforeId) = 0 OR id < \(beforeId)) AND member_points <> 0
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger)
            var result: [JournalRow] = []
            for try await (id, kind, points, orderId, merchantId, description, lines, createdAt)
                in rows.decode((Int64, Int16, Int64, Int64?, Int64?, String, String, Int64).self) {
                result.append(JournalRow(
                    id: id, kind: JournalKind(rawValue: kind) ?? .adjust, memberPoints: points, orderId: orderId, merchantId: merchantId,
                    description: description, lines: try JSONDecoder().decode([StoredEarnLine].self, from: Data(lines.utf8)), createdAtMilliseconds: createdAt))
            }
            return result
        }
    }

    /// The member's lots in the order they were earned (keyset on id); each carries its
    /// expiry, so a client can show the schedule by date.
    public func lots(mallId: Int64, memberId: Int64, afterId: Int64, limit: Int, includeDepleted: Bool) async throws -> [Lot] {
        try await db.withMall(mallId) { connection in
            try await LotRows.decode(connection.query("""
                SELECT \(unescaped: LotRows.columns) FROM lots
                WHERE mall_id = \(mallId) AND member_id = \(memberId) AND id > \(afterId) AND (\(includeDepleted) OR remaining_points > 0)
                ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// Checks the mall's ledger: every journal balances; every member's cached balance equals the
    /// sum of its postings and the sum of its lots' remaining points minus its debt, and its debt
    /// equals its debt account and what it owes its funders (`member_debts`); no lot is
    /// outside [0, amount] (remaining and expired together); an order's spend draws and a
    /// redemption's add up to what they paid, a used coupon names its order; no member's `expiry_due_at` is later
    /// than one of its live lots' expiry; no order claws back more than it earned; no ledger row names a missing
    /// member, merchant, order or journal.
    public func check(mallId: Int64) async throws -> LedgerCheck {
        try await db.withMall(mallId, limits: .job, timeout: Self.checkTimeout) { connection in
            // Every query below reads the whole mall: hash joins, never a nested loop, which
            // statistics that lag a busy day's inserts would otherwise pick (19 s instead of
            // 0.2 s for 40,000 journals, measured right after a benchmark).
            try await connection.query("SET LOCAL enable_nestloop = off", logger: logger)
            var violations: [String] = []
            let cap = Limits.ledgerViolationsReportedMax
            for try await (id, sum) in try await connection.query("""
                SELECT journal_id, sum(points)::bigint FROM postings WHERE mall_id = \(mallId)
                GROUP BY journal_id HAVING sum(points) <> 0 ORDER BY journal_id LIMIT \(cap)
                """, logger: logger).decode((Int64, Int64).self) {
                violations.append("journal \(id) does not balance: postings sum to \(sum)")
            }
            for try await (id, sum, points) in try await connection.query("""
                SELECT j.id, coalesce(sum(p.points) FILTER (WHERE p.account_kind = 0 AND p.account_owner_id = j.member_id), 0)::bigint, j.member_points
                FROM journals j LEFT JOIN postings p ON p.mall_id = j.mall_id AND p.journal_id = j.id
                WHERE j.mall_id = \(mallId) GROUP BY j.mall_id, j.id HAVING coalesce(sum(p.points) FILTER (WHERE p.account_kind = 0 AND p.account_owner_id = j.member_id), 0) <> j.member_points
                LIMIT \(cap)
                """, logger: logger).decode((Int64, Int64, Int64).self) {
                violations.append("journal \(id) says the member moved \(points) but its posting moved \(sum)")
            }
            // Set-based: one pass over postings, one over lots and one over debts, then only the
            // members that differ. A member's debt is its debt account's balance and what its
            // `member_debts` rows owe the funders.
            for try await (id, balance, postings, lots, debt, debtPostings, owed) in try await connection.query("""
                WITH p AS (
                    SELECT account_owner_id AS member_id, sum(points) FILTER (WHERE account_kind = 0) AS points,
                        sum(points) FILTER (WHERE account_kind = 4) AS debt
                    FROM postings WHERE mall_id = \(mallId) AND account_kind IN (0, 4) GROUP BY account_owner_id
                ), l AS (
                    SELECT member_id, sum(remaining_points) AS remaining FROM lots WHERE mall_id = \(mallId) GROUP BY member_id
                ), d AS (
                    SELECT member_id, sum(points) AS owed FROM member_debts WHERE mall_id = \(mallId) GROUP BY member_id
                )
                SELECT m.id, m.balance_points, coalesce(p.points, 0)::bigint, coalesce(l.remaining, 0)::bigint, m.debt_points,
                    coalesce(p.debt, 0)::bigint, coalesce(d.owed, 0)::bigint
                FROM members m LEFT JOIN p ON p.member_id = m.id LEFT JOIN l ON l.member_id = m.id LEFT JOIN d ON d.member_id = m.id
                WHERE m.mall_id = \(mallId)
                  AND (m.balance_points <> coalesce(p.points, 0) OR m.balance_points <> coalesce(l.remaining, 0) - m.debt_points
                    OR m.debt_points <> coalesce(p.debt, 0) OR m.debt_points <> coalesce(d.owed, 0))
                LIMIT \(cap)
                """, logger: logger).decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
                if balance != postings { violations.append("member \(id): cached balance \(balance) but postings sum to \(postings)") }
                if balance != lots - debt { violations.append("member \(id): cached balance \(balance) but lots \(lots) minus debt \(debt) is \(lots - debt)") }
                if debt != debtPostings { violations.append("member \(id): debt \(debt) but its debt account holds \(debtPostings)") }
                if debt != owed { violations.append("member \(id): debt \(debt) but it owes its funders \(owed)") }
            }
            for try await id in try await connection.query("""
                SELECT id FROM lots WHERE mall_id = \(mallId)
                  AND (remaining_points < 0 OR expired_points < 0 OR remaining_points + expired_points > amount_points) LIMIT \(cap)
                """, logger: logger).decode(Int64.self) {
                violations.append("lot \(id) has remaining or expired points outside [0, amount]")
            }
            // The sweep finds members through expiry_due_at: a live lot due before it would never expire.
            for try await (id, due) in try await connection.query("""
                SELECT m.id, epoch_ms(l.due_at) FROM members m
                JOIN (
                    SELECT member_id, min(expires_at) AS due_at FROM lots
                    WHERE mall_id = \(mallId) AND remaining_points > 0 AND expires_at IS NOT NULL GROUP BY member_id
                ) l ON l.member_id = m.id
                WHERE m.mall_id = \(mallId) AND (m.expiry_due_at IS NULL OR m.expiry_due_at > l.due_at)
                LIMIT \(cap)
                """, logger: logger).decode((Int64, Int64).self) {
                violations.append("member \(id) has a live lot expiring at \(due) that its expiry_due_at would miss")
            }
            // What paid an order with points: its draws add up to what it spent and what refunds
            // gave back, and each names a lot of the order's member.
            for try await (id, spent, drawn, returned, given, foreign) in try await connection.query("""
                SELECT o.id, o.points_spent, coalesce(d.points, 0)::bigint, o.points_returned, coalesce(d.returned, 0)::bigint, coalesce(d.foreign_lots, 0)::bigint
                FROM orders o LEFT JOIN (
                    SELECT s.order_id, sum(s.points) AS points, sum(s.returned_points) AS returned,
                        count(*) FILTER (WHERE l.id IS NULL OR l.member_id <> x.member_id) AS foreign_lots
                    FROM spend_draws s
                    JOIN orders x ON x.mall_id = \(mallId) AND x.id = s.order_id
                    LEFT JOIN lots l ON l.mall_id = \(mallId) AND l.id = s.lot_id
                    WHERE s.mall_id = \(mallId) GROUP BY s.order_id
                ) d ON d.order_id = o.id
                WHERE o.mall_id = \(mallId) AND (o.points_spent > 0 OR d.order_id IS NOT NULL)
                  AND (o.points_spent <> coalesce(d.points, 0) OR o.points_returned <> coalesce(d.returned, 0) OR coalesce(d.foreign_lots, 0) > 0)
                LIMIT \(cap)
                """, logger: logger).decode((Int64, Int64, Int64, Int64, Int64, Int64).self) {
                if spent != drawn { violations.append("order \(id) spent \(spent) points but its draws took \(drawn)") }
                if returned != given { violations.append("order \(id) had \(returned) points returned but its draws say \(given)") }
                if foreign > 0 { violations.append("order \(id) drew from \(foreign) lots that are not its member's") }
            }
            // A redemption not cancelled was paid by its draws exactly; a used coupon names its order.
            for try await (row, id, difference) in try await connection.query("""
                SELECT 'redemption', r.id, r.points - coalesce(sum(d.points), 0)::bigint
                FROM redemptions r LEFT JOIN redemption_draws d ON d.mall_id = r.mall_id AND d.redemption_id = r.id
                WHERE r.mall_id = \(mallId) AND r.status <> \(RedemptionStatus.cancelled.rawValue)
                GROUP BY r.mall_id, r.id HAVING r.points <> coalesce(sum(d.points), 0)
                UNION ALL
                SELECT 'coupon', c.id, 0::bigint FROM coupons c WHERE c.mall_id = \(mallId) AND c.used
                  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.mall_id = \(mallId) AND o.id = c.order_id)
                LIMIT \(cap)
                """, logger: logger).decode((String, Int64, Int64).self) {
                violations.append(row == "coupon" ? "coupon \(id) is used by an order that does not exist" : "redemption \(id)'s draws are \(difference) points short of its price")
            }
            // The references that foreign keys no longer check row by row (migration 4). Each
            // subquery names the mall itself: correlated by mall_id alone, Citus would run them
            // on every shard.
            for try await (row, id) in try await connection.query("""
                SELECT 'order', o.id FROM orders o WHERE o.mall_id = \(mallId)
                  AND (NOT EXISTS (SELECT 1 FROM members m WHERE m.mall_id = \(mallId) AND m.id = o.member_id)
                    OR NOT EXISTS (SELECT 1 FROM merchants x WHERE x.mall_id = \(mallId) AND x.id = o.merchant_id))
                UNION ALL
                SELECT 'lot', l.id FROM lots l WHERE l.mall_id = \(mallId)
                  AND (NOT EXISTS (SELECT 1 FROM members m WHERE m.mall_id = \(mallId) AND m.id = l.member_id)
                    OR (l.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.mall_id = \(mallId) AND o.id = l.order_id)))
                UNION ALL
                SELECT 'journal', j.id FROM journals j WHERE j.mall_id = \(mallId)
                  AND (NOT EXISTS (SELECT 1 FROM members m WHERE m.mall_id = \(mallId) AND m.id = j.member_id)
                    OR (j.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.mall_id = \(mallId) AND o.id = j.order_id)))
                UNION ALL
                SELECT 'posting of journal', p.journal_id FROM postings p WHERE p.mall_id = \(mallId)
                  AND NOT EXISTS (SELECT 1 FROM journals j WHERE j.mall_id = \(mallId) AND j.id = p.journal_id)
                UNION ALL
                SELECT 'daily total of member', d.member_id FROM member_daily_earnings d WHERE d.mall_id = \(mallId)
                  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.mall_id = \(mallId) AND m.id = d.member_id)
                LIMIT \(cap)
                """, logger: logger).decode((String, Int64).self) {
                violations.append("\(row) \(id) names a row that does not exist")
            }
            // Settlement: a statement's net is the sum of its lines, a period's nets sum to zero,
            // and its entry count is what its mall statement's lines count (the mall is the
            // counterparty of every entry).
            for try await (kind, id, difference) in try await connection.query("""
                SELECT 'statement', s.id, s.net_minor - coalesce(sum(l.amount_minor), 0)::bigint
                FROM settlement_statements s LEFT JOIN settlement_lines l ON l.mall_id = s.mall_id AND l.statement_id = s.id
                WHERE s.mall_id = \(mallId) GROUP BY s.mall_id, s.id HAVING s.net_minor <> coalesce(sum(l.amount_minor), 0)
                UNION ALL
                SELECT 'period', s.period_id, sum(s.net_minor)::bigint FROM settlement_statements s
                WHERE s.mall_id = \(mallId) GROUP BY s.period_id HAVING sum(s.net_minor) <> 0
                UNION ALL
                SELECT 'entries', p.id, p.entries - coalesce(sum(l.entries), 0)::bigint
                FROM settlement_periods p
                LEFT JOIN settlement_statements s ON s.mall_id = p.mall_id AND s.period_id = p.id AND s.party_kind = \(Funder.mall.kind)
                LEFT JOIN settlement_lines l ON l.mall_id = s.mall_id AND l.statement_id = s.id
                WHERE p.mall_id = \(mallId) GROUP BY p.mall_id, p.id HAVING p.entries <> coalesce(sum(l.entries), 0)
                LIMIT \(cap)
                """, logger: logger).decode((String, Int64, Int64).self) {
                switch kind {
                case "period": violations.append("settlement period \(id): nets sum to \(difference), not zero")
                case "entries": violations.append("settlement period \(id): counts \(difference) entries more than its mall statement's lines")
                default: violations.append("statement \(id): net differs from its lines by \(difference)")
                }
            }
            var journals: Int64 = 0, members: Int64 = 0
            for try await (j, m) in try await connection.query("""
                SELECT (SELECT count(*) FROM journals WHERE mall_id = \(mallId))::bigint, (SELECT count(*) FROM members WHERE mall_id = \(mallId))::bigint
                """, logger: logger).decode((Int64, Int64).self) {
                journals = j
                members = m
            }
            return LedgerCheck(violations: Array(violations.prefix(cap)), journalsChecked: journals, membersChecked: members)
        }
    }
}
