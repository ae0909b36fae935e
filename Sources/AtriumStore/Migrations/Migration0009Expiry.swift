extension Migration {
    /// Point expiry (`ExpiryStore`).
    ///
    /// `members.expiry_due_at` is the earliest instant any live lot of the member can expire, or
    /// null when none can: the sweep finds due members through its index instead of an index
    /// over every lot, which would add an entry to each order's write (a lot index cost SubmitOrder
    /// 8 %, migration 6). An order lowers it to its lots' expiry in the update of the member row
    /// it already makes; the value rarely moves, so that update stays on its page (HOT). A refund
    /// that empties a lot leaves it early, which costs the sweep one empty visit, never a miss.
    ///
    /// `lots.expired_points` keeps what expiry took from a lot: the funder has had those points
    /// back, so a later refund of the order must not take them from the member again. A lot is
    /// live or expired, never both: expiry takes all that remains, and nothing refills a lot.
    ///
    /// Lots keep a tenth of each page free, so that expiry and refunds, which change no indexed
    /// column, update a lot in place (HOT) instead of adding an entry to each of its indexes:
    /// measured, the expiry of 10,000 lots took 75-107 ms instead of 217 ms.
    ///
    /// The backfill runs with row-level security not forced, so the migration's role (the
    /// tables' owner) sees every mall; it is forced again before the transaction ends.
    static let expiry = Migration(version: 9, name: "expiry", sql: #"""
        ALTER TABLE members ADD COLUMN expiry_due_at timestamptz;
        ALTER TABLE lots ADD COLUMN expired_points bigint NOT NULL DEFAULT 0;
        ALTER TABLE lots ADD CONSTRAINT lots_expired_points_check
            CHECK (expired_points >= 0 AND remaining_points + expired_points <= amount_points AND (remaining_points = 0 OR expired_points = 0));
        ALTER TABLE lots SET (fillfactor = 90);
        ALTER TABLE refunds ADD COLUMN expired_points bigint NOT NULL DEFAULT 0 CHECK (expired_points >= 0);
        ALTER TABLE members NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE lots NO FORCE ROW LEVEL SECURITY;
        UPDATE members m SET expiry_due_at = d.due_at
        FROM (
            SELECT mall_id, member_id, min(expires_at) AS due_at FROM lots
            WHERE remaining_points > 0 AND expires_at IS NOT NULL GROUP BY mall_id, member_id
        ) d
        WHERE m.mall_id = d.mall_id AND m.id = d.member_id;
        ALTER TABLE members FORCE ROW LEVEL SECURITY;
        ALTER TABLE lots FORCE ROW LEVEL SECURITY;
        CREATE INDEX members_expiry_due ON members (mall_id, expiry_due_at) WHERE expiry_due_at IS NOT NULL;
        """#)
}
