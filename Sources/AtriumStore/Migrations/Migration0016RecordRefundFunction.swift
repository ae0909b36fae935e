extension Migration {
    /// A refund's write becomes one function, `record_refund`, for the reasons of migration 15:
    /// one round trip, one table at a time, and on Citus one call on the worker that holds the
    /// mall. It draws the clawed-back points from lots, posts the clawback journal (its id drawn
    /// first) and changes the member's balance and debt, unless the member loses nothing; then
    /// updates the order and inserts the refund, and answers the refund's created at. Stamped
    /// with the call's start, as orders are (migration 15).
    static let recordRefundFunction = Migration(version: 16, name: "record_refund_function", sql: #"""
        CREATE FUNCTION record_refund(
            p_mall_id bigint, p_order_id bigint, p_merchant_id bigint, p_member_id bigint, p_refund_id text, p_request_hash bytea,
            p_refund_minor bigint, p_order_clawed bigint, p_funding text, p_lines text, p_covered bigint, p_shortfall bigint, p_debt bigint,
            p_member_points bigint, p_journal_kind smallint, p_description text, p_explanation text, p_draw_lots bigint[], p_draw_points bigint[],
            p_posting_seqs smallint[], p_posting_kinds smallint[], p_posting_owners bigint[], p_posting_points bigint[],
            p_expired_lots bigint[], p_expired_points bigint[], p_expired bigint, p_seq integer
        ) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            v_journal_id bigint;
            v_posted integer;
            v_created_ms bigint;
        BEGIN
            UPDATE lots SET remaining_points = remaining_points - t.take
            FROM unnest(p_draw_lots, p_draw_points) AS t(id, take)
            WHERE lots.mall_id = p_mall_id AND lots.id = t.id;
            UPDATE lots SET expired_points = expired_points - t.take
            FROM unnest(p_expired_lots, p_expired_points) AS t(id, take)
            WHERE lots.mall_id = p_mall_id AND lots.id = t.id;

            IF p_member_points <> 0 THEN
                v_journal_id := nextval('journals_id_seq'::regclass);
                INSERT INTO journals (mall_id, id, kind, member_id, member_points, order_id, merchant_id, description, lines, created_at)
                OVERRIDING SYSTEM VALUE
                VALUES (p_mall_id, v_journal_id, p_journal_kind, p_member_id, p_member_points, p_order_id, p_merchant_id, p_description,
                    p_explanation::jsonb, statement_timestamp());
                -- RETURNING, counted: without it Citus sends the rows as COPY, which row-level security refuses.
                WITH p AS (
                    INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                    SELECT p_mall_id, v_journal_id, t.seq, t.kind, t.owner, t.points
                    FROM unnest(p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points) AS t(seq, kind, owner, points)
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_posted FROM p;
                IF v_posted <> cardinality(p_posting_seqs) THEN
                    RAISE EXCEPTION 'record_refund wrote % of % postings', v_posted, cardinality(p_posting_seqs);
                END IF;
                UPDATE members SET balance_points = balance_points + p_member_points, debt_points = debt_points + p_debt
                WHERE mall_id = p_mall_id AND id = p_member_id;
            END IF;

            UPDATE orders SET refunded_minor = refunded_minor + p_refund_minor, clawed_back_points = clawed_back_points + p_order_clawed,
                funding = p_funding::jsonb, lines = p_lines::jsonb
            WHERE mall_id = p_mall_id AND id = p_order_id;

            INSERT INTO refunds (mall_id, merchant_id, refund_id, order_id, request_hash, amount_minor, clawed_back_points, shortfall_points,
                debt_points, expired_points, seq, created_at)
            VALUES (p_mall_id, p_merchant_id, p_refund_id, p_order_id, p_request_hash, p_refund_minor, p_covered, p_shortfall, p_debt,
                p_expired, p_seq, statement_timestamp())
            RETURNING epoch_ms(created_at) INTO v_created_ms;
            RETURN v_created_ms;
        END
        $$;
        """#)
}
