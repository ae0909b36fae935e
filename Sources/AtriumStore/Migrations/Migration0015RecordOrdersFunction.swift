extension Migration {
    /// A SubmitOrder batch's write becomes one function, `record_orders`, called in one round
    /// trip as the single statement of data-modifying CTEs was. The function runs its writes one
    /// table at a time, which Citus can route: on Citus it is distributed by its mall argument
    /// (`CitusDistribution`), so the whole call runs on the worker that holds the mall, where a
    /// WITH statement of writes would have gone step by step through the coordinator, and its
    /// `INSERT … SELECT FROM unnest` would have been sent as COPY, which row-level security refuses.
    ///
    /// Order and journal ids are drawn from their sequences first, so lots, journals and postings
    /// name them without reading anything back. An order number recorded meanwhile (ON CONFLICT DO
    /// NOTHING) makes the function return no row: the caller, finding fewer rows than orders,
    /// rolls the batch back and looks the numbers up. `stale` counts daily totals that are no
    /// longer what the member lock read (see `RecordOrdersStatement`); it is read before this
    /// function adds to them. Orders and journals are stamped with the call's start
    /// (`statement_timestamp()`), not the transaction's: a SubmitOrder lane opens its next
    /// transaction ahead of time, and settlement periods go by these stamps.
    static let recordOrdersFunction = Migration(version: 15, name: "record_orders_function", sql: #"""
        CREATE FUNCTION record_orders(
            p_mall_id bigint, p_merchant_ids bigint[], p_order_numbers text[], p_request_hashes bytea[], p_member_ids bigint[],
            p_store_ids text[], p_terminal_ids text[], p_amounts bigint[], p_points_paid bigint[], p_coupon_paid bigint[], p_eligible bigint[],
            p_lines text[], p_paid_at bigint[], p_breakdowns text[], p_fundings text[], p_earned bigint[], p_available_at bigint[],
            p_expires_at bigint[], p_lot_source smallint, p_lot_orders bigint[], p_lot_kinds smallint[], p_lot_owners bigint[],
            p_lot_amounts bigint[], p_lot_remaining bigint[], p_journal_kind smallint, p_posting_orders bigint[], p_posting_seqs smallint[],
            p_posting_kinds smallint[], p_posting_owners bigint[], p_posting_points bigint[], p_credit_members bigint[], p_credit_earned bigint[],
            p_credit_repaid bigint[], p_campaign_ids bigint[], p_campaign_spent bigint[], p_daily_members bigint[], p_daily_merchants bigint[],
            p_daily_days text[], p_daily_points bigint[], p_daily_before bigint[], p_credit_due bigint[]
        ) RETURNS TABLE (idx integer, order_id bigint, created_at_ms bigint, stale integer)
        LANGUAGE plpgsql AS $$
        DECLARE
            n integer := cardinality(p_merchant_ids);
            v_order_ids bigint[];
            v_journal_ids bigint[];
            v_inserted integer;
            v_stale integer;
        BEGIN
            -- A probe per row by primary key, before the upsert below changes the totals.
            SELECT count(*)::integer INTO v_stale
            FROM unnest(p_daily_members, p_daily_merchants, p_daily_days, p_daily_before) AS t(member_id, merchant_id, local_day, points_before)
            WHERE coalesce((
                SELECT e.points FROM member_daily_earnings e
                WHERE e.mall_id = p_mall_id AND e.member_id = t.member_id AND e.merchant_id = t.merchant_id AND e.local_day = t.local_day::date
            ), 0) <> t.points_before;

            v_order_ids := ARRAY(SELECT nextval('orders_id_seq'::regclass) FROM generate_series(1, n));
            -- Counted by RETURNING: on Citus the row count of an INSERT … SELECT is what was sent,
            -- not what was inserted.
            WITH o AS (
            INSERT INTO orders (mall_id, id, merchant_id, order_number, request_hash, member_id, store_id, terminal_id, amount_minor,
                points_paid_minor, coupon_paid_minor, eligible_minor, lines, paid_at, breakdown, funding, earned_points, available_at, created_at)
            OVERRIDING SYSTEM VALUE
            SELECT p_mall_id, v_order_ids[i], p_merchant_ids[i], p_order_numbers[i], p_request_hashes[i], p_member_ids[i], p_store_ids[i],
                p_terminal_ids[i], p_amounts[i], p_points_paid[i], p_coupon_paid[i], p_eligible[i], p_lines[i]::jsonb, from_epoch_ms(p_paid_at[i]),
                p_breakdowns[i]::jsonb, p_fundings[i]::jsonb, p_earned[i], from_epoch_ms(p_available_at[i]), statement_timestamp()
            FROM generate_series(1, n) AS i
            ON CONFLICT (mall_id, merchant_id, order_number) DO NOTHING
            RETURNING 1
            ) SELECT count(*)::integer INTO v_inserted FROM o;
            IF v_inserted < n THEN
                RETURN;
            END IF;

            INSERT INTO lots (mall_id, member_id, order_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at,
                available_at, expires_at)
            SELECT p_mall_id, p_member_ids[t.i], v_order_ids[t.i], t.kind, t.owner, p_lot_source, t.amount, t.remaining,
                from_epoch_ms(p_paid_at[t.i]), from_epoch_ms(p_available_at[t.i]), from_epoch_ms(nullif(p_expires_at[t.i], 0))
            FROM unnest(p_lot_orders, p_lot_kinds, p_lot_owners, p_lot_amounts, p_lot_remaining) AS t(i, kind, owner, amount, remaining);

            v_journal_ids := ARRAY(SELECT CASE WHEN p_earned[i] > 0 THEN nextval('journals_id_seq'::regclass) END FROM generate_series(1, n) AS i);
            INSERT INTO journals (mall_id, id, kind, member_id, member_points, order_id, merchant_id, description, lines, created_at)
            OVERRIDING SYSTEM VALUE
            SELECT p_mall_id, v_journal_ids[i], p_journal_kind, p_member_ids[i], p_earned[i], v_order_ids[i], p_merchant_ids[i],
                'order ' || p_order_numbers[i], p_breakdowns[i]::jsonb, statement_timestamp()
            FROM generate_series(1, n) AS i WHERE p_earned[i] > 0;

            -- RETURNING, counted: without it Citus would send the rows as COPY, which row-level
            -- security refuses; and every posting must land.
            WITH p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT p_mall_id, v_journal_ids[t.i], t.seq, t.kind, t.owner, t.points
                FROM unnest(p_posting_orders, p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points) AS t(i, seq, kind, owner, points)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_inserted FROM p;
            IF v_inserted <> cardinality(p_posting_orders) THEN
                RAISE EXCEPTION 'record_orders wrote % of % postings', v_inserted, cardinality(p_posting_orders);
            END IF;

            UPDATE members SET balance_points = balance_points + t.earned, debt_points = debt_points - t.repaid,
                lifetime_earned_points = lifetime_earned_points + t.earned,
                expiry_due_at = least(members.expiry_due_at, from_epoch_ms(nullif(t.due, 0)))
            FROM unnest(p_credit_members, p_credit_earned, p_credit_repaid, p_credit_due) AS t(id, earned, repaid, due)
            WHERE members.mall_id = p_mall_id AND members.id = t.id;

            UPDATE campaigns SET spent_points = spent_points + t.points
            FROM unnest(p_campaign_ids, p_campaign_spent) AS t(id, points)
            WHERE campaigns.mall_id = p_mall_id AND campaigns.id = t.id;

            INSERT INTO member_daily_earnings AS e (mall_id, member_id, merchant_id, local_day, points)
            SELECT p_mall_id, t.member_id, t.merchant_id, t.local_day::date, t.points
            FROM unnest(p_daily_members, p_daily_merchants, p_daily_days, p_daily_points) AS t(member_id, merchant_id, local_day, points)
            ON CONFLICT (mall_id, member_id, merchant_id, local_day) DO UPDATE SET points = e.points + excluded.points;

            RETURN QUERY SELECT i, v_order_ids[i], epoch_ms(statement_timestamp()), v_stale FROM generate_series(1, n) AS i;
        END
        $$;
        """#)
}
