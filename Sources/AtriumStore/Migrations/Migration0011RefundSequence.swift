extension Migration {
    /// Each refund of an order gets its place among the order's refunds (`seq`, 1 for the first),
    /// taken while the refund holds the order's lock. A replayed refund answers with the order as
    /// that refund left it, the refunds up to its own, however many came after (a retry returns
    /// exactly the original response). `created_at` cannot say this: it is the time the refund's
    /// transaction began, and a refund that waited for the order's lock may have begun before the
    /// one it waited for.
    ///
    /// Refunds recorded before this migration are numbered by (created_at, refund_id), the order
    /// they were listed in. The unique key replaces the order index. The backfill runs with
    /// row-level security not forced, so the migration's role (the tables' owner) sees every
    /// mall; it is forced again before the transaction ends.
    static let refundSequence = Migration(version: 11, name: "refund_sequence", sql: #"""
        ALTER TABLE refunds ADD COLUMN seq integer;
        ALTER TABLE refunds NO FORCE ROW LEVEL SECURITY;
        UPDATE refunds r SET seq = n.seq
        FROM (
            SELECT mall_id, merchant_id, refund_id,
                row_number() OVER (PARTITION BY mall_id, order_id ORDER BY created_at, refund_id) AS seq
            FROM refunds
        ) n
        WHERE r.mall_id = n.mall_id AND r.merchant_id = n.merchant_id AND r.refund_id = n.refund_id;
        ALTER TABLE refunds FORCE ROW LEVEL SECURITY;
        ALTER TABLE refunds ALTER COLUMN seq SET NOT NULL;
        ALTER TABLE refunds ADD CONSTRAINT refunds_seq_check CHECK (seq >= 1);
        ALTER TABLE refunds ADD CONSTRAINT refunds_order_seq UNIQUE (mall_id, order_id, seq);
        DROP INDEX refunds_by_order;
        """#)
}
