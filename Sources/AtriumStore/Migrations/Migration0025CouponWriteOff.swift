extension Migration {
    /// Coupons written off inside SubmitOrder, and given back by refunds.
    ///
    /// - `coupons` keep the order that used one, where, when, its discount and the mall's share.
    ///   A refund of the whole order gives a coupon back while it is still valid (`used` false
    ///   again, the use cleared); an expired one stays used.
    /// - `orders.coupons`: the uses as the order answered them (`CouponUse`), so a replay
    ///   answers the same whatever happened to the coupons since.
    /// - `clearing_entries`: clearing entries in money, beside the journals' entries in points:
    ///   the mall's share of a coupon's discount owed to the merchant that took it (kind 8), and
    ///   its return when a refund gives the coupon back or cancels the order (kind 9). Written in
    ///   the event's transaction, never changed; settlement sums them with the postings.
    /// - `refunds.coupons_restored`.
    ///
    /// `record_orders` gains the spend (migration 23's columns and tables) and the write-off.
    /// After the orders: each coupon is used only while still unused, with its clearing entry;
    /// the draws come off their lots (summed per lot: two orders of one member may draw the same
    /// lot); the captured holds end; the spend journals (ids drawn before the earn journals, so a
    /// member's history shows the payment before the points it earned) get their postings in the
    /// same insert as the earn journals' (`p_posting_journals`: 1 earn, 2 spend); and the member's
    /// balance falls by what it spent. A coupon, lot or hold no longer as the member lock read it
    /// counts as `stale`: the caller rolls back and reads again. Without spending, none of these
    /// statements runs. `record_refund` records the points and coupons a refund gave back.
    static let couponWriteOff = Migration(version: 25, name: "coupon_write_off", sql: #"""
        ALTER TABLE coupons ADD COLUMN order_id bigint;
        ALTER TABLE coupons ADD COLUMN merchant_id bigint;
        ALTER TABLE coupons ADD COLUMN used_at timestamptz;
        ALTER TABLE coupons ADD COLUMN discount_minor bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);
        ALTER TABLE coupons ADD COLUMN mall_share_minor bigint NOT NULL DEFAULT 0;
        ALTER TABLE coupons ADD CONSTRAINT coupons_use_check
            CHECK (used = (order_id IS NOT NULL) AND mall_share_minor BETWEEN 0 AND discount_minor);
        CREATE INDEX coupons_by_order ON coupons (mall_id, order_id) WHERE order_id IS NOT NULL;
        ALTER TABLE orders ADD COLUMN coupons jsonb NOT NULL DEFAULT '[]';
        ALTER TABLE refunds ADD COLUMN coupons_restored integer NOT NULL DEFAULT 0 CHECK (coupons_restored >= 0);
        ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_kind_check;
        ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_kind_check CHECK (kind BETWEEN 1 AND 9);

        CREATE TABLE clearing_entries (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            kind smallint NOT NULL CHECK (kind IN (8, 9)),
            party_kind smallint NOT NULL CHECK (party_kind IN (2, 3)),
            party_id bigint NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
            order_id bigint,
            coupon_id bigint,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (mall_id, id)
        );
        CREATE INDEX clearing_entries_by_time ON clearing_entries (mall_id, created_at);
        SELECT isolate_by_mall('clearing_entries');

        DROP FUNCTION record_orders;
        CREATE FUNCTION record_orders(
            p_mall_id bigint, p_merchant_ids bigint[], p_order_numbers text[], p_request_hashes bytea[], p_member_ids bigint[],
            p_store_ids text[], p_terminal_ids text[], p_amounts bigint[], p_points_paid bigint[], p_coupon_paid bigint[], p_eligible bigint[],
            p_lines text[], p_paid_at bigint[], p_breakdowns text[], p_fundings text[], p_earned bigint[], p_available_at bigint[],
            p_expires_at bigint[], p_lot_source smallint, p_lot_orders bigint[], p_lot_kinds smallint[], p_lot_owners bigint[],
            p_lot_amounts bigint[], p_lot_remaining bigint[], p_journal_kind smallint, p_posting_orders bigint[], p_posting_seqs smallint[],
            p_posting_kinds smallint[], p_posting_owners bigint[], p_posting_points bigint[], p_credit_members bigint[], p_credit_earned bigint[],
            p_credit_repaid bigint[], p_campaign_ids bigint[], p_campaign_spent bigint[], p_daily_members bigint[], p_daily_merchants bigint[],
            p_daily_days text[], p_daily_points bigint[], p_daily_before bigint[], p_credit_due bigint[],
            p_points_spent bigint[], p_spend_kind smallint, p_spend_lines text[], p_posting_journals smallint[], p_credit_spent bigint[],
            p_draw_orders bigint[], p_draw_lots bigint[], p_draw_kinds smallint[], p_draw_owners bigint[], p_draw_points bigint[],
            p_capture_holds bigint[], p_capture_orders bigint[],
            p_coupon_ids bigint[], p_coupon_orders bigint[], p_coupon_discounts bigint[], p_coupon_shares bigint[], p_coupon_kind smallint,
            p_coupons text[]
        ) RETURNS TABLE (idx integer, order_id bigint, created_at_ms bigint, stale integer)
        LANGUAGE plpgsql AS $$
        DECLARE
            n integer := cardinality(p_merchant_ids);
            v_order_ids bigint[];
            v_journal_ids bigint[];
            v_spend_ids bigint[] := '{}';
            v_capture_order_ids bigint[];
            v_coupon_order_ids bigint[];
            v_coupon_merchants bigint[];
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
                points_paid_minor, coupon_paid_minor, eligible_minor, lines, paid_at, breakdown, funding, earned_points, available_at, created_at,
                points_spent, coupons)
            OVERRIDING SYSTEM VALUE
            SELECT p_mall_id, v_order_ids[i], p_merchant_ids[i], p_order_numbers[i], p_request_hashes[i], p_member_ids[i], p_store_ids[i],
                p_terminal_ids[i], p_amounts[i], p_points_paid[i], p_coupon_paid[i], p_eligible[i], p_lines[i]::jsonb, from_epoch_ms(p_paid_at[i]),
                p_breakdowns[i]::jsonb, p_fundings[i]::jsonb, p_earned[i], from_epoch_ms(p_available_at[i]), statement_timestamp(), p_points_spent[i],
                p_coupons[i]::jsonb
            FROM generate_series(1, n) AS i
            ON CONFLICT (mall_id, merchant_id, order_number) DO NOTHING
            RETURNING 1
            ) SELECT count(*)::integer INTO v_inserted FROM o;
            IF v_inserted < n THEN
                RETURN;
            END IF;

            IF cardinality(p_coupon_ids) > 0 THEN
                -- Under the member lock (a coupon pays only its member's orders) nobody else uses
                -- these coupons: one used meanwhile is a concurrent change, and the batch is read again.
                v_coupon_order_ids := ARRAY(SELECT v_order_ids[i] FROM unnest(p_coupon_orders) AS i);
                v_coupon_merchants := ARRAY(SELECT p_merchant_ids[i] FROM unnest(p_coupon_orders) AS i);
                WITH c AS (
                    UPDATE coupons SET used = true, order_id = t.order_id, merchant_id = t.merchant_id, used_at = statement_timestamp(),
                        discount_minor = t.discount, mall_share_minor = t.share
                    FROM unnest(p_coupon_ids, v_coupon_order_ids, v_coupon_merchants, p_coupon_discounts, p_coupon_shares)
                        AS t(id, order_id, merchant_id, discount, share)
                    WHERE coupons.mall_id = p_mall_id AND coupons.id = t.id AND NOT coupons.used
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_inserted FROM c;
                IF v_inserted <> cardinality(p_coupon_ids) THEN
                    v_stale := v_stale + 1;
                END IF;
                WITH e AS (
                    INSERT INTO clearing_entries (mall_id, kind, party_kind, party_id, amount_minor, order_id, coupon_id, created_at)
                    SELECT p_mall_id, p_coupon_kind, 2, t.merchant_id, t.share, t.order_id, t.id, statement_timestamp()
                    FROM unnest(p_coupon_ids, v_coupon_order_ids, v_coupon_merchants, p_coupon_shares) AS t(id, order_id, merchant_id, share)
                    WHERE t.share > 0
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_inserted FROM e;
                IF v_inserted <> (SELECT count(*) FROM unnest(p_coupon_shares) AS s WHERE s > 0) THEN
                    RAISE EXCEPTION 'record_orders wrote % coupon clearing entries of %', v_inserted, cardinality(p_coupon_ids);
                END IF;
            END IF;

            IF cardinality(p_draw_lots) > 0 THEN
                -- Under the member lock nothing else takes from these lots: a lot that no longer
                -- holds what was read is a concurrent change, and the batch is read again.
                WITH u AS (
                    UPDATE lots SET remaining_points = lots.remaining_points - t.take
                    FROM (SELECT d.id, sum(d.take)::bigint AS take FROM unnest(p_draw_lots, p_draw_points) AS d(id, take) GROUP BY d.id) AS t
                    WHERE lots.mall_id = p_mall_id AND lots.id = t.id AND lots.remaining_points >= t.take
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_inserted FROM u;
                IF v_inserted <> (SELECT count(DISTINCT d) FROM unnest(p_draw_lots) AS d) THEN
                    v_stale := v_stale + 1;
                END IF;
                WITH d AS (
                    INSERT INTO spend_draws (mall_id, order_id, lot_id, funder_kind, funder_id, points)
                    SELECT p_mall_id, v_order_ids[t.i], t.lot, t.kind, t.owner, t.points
                    FROM unnest(p_draw_orders, p_draw_lots, p_draw_kinds, p_draw_owners, p_draw_points) AS t(i, lot, kind, owner, points)
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_inserted FROM d;
                IF v_inserted <> cardinality(p_draw_lots) THEN
                    RAISE EXCEPTION 'record_orders wrote % of % spend draws', v_inserted, cardinality(p_draw_lots);
                END IF;
                IF cardinality(p_capture_holds) > 0 THEN
                    -- The orders' ids as an array of their own: Citus 13.2 crashes planning an
                    -- UPDATE whose SET subscripts a variable by a column of its FROM.
                    v_capture_order_ids := ARRAY(SELECT v_order_ids[i] FROM unnest(p_capture_orders) AS i);
                    WITH h AS (
                        UPDATE point_holds SET status = 2, ended_at = statement_timestamp(), order_id = t.order_id
                        FROM unnest(p_capture_holds, v_capture_order_ids) AS t(id, order_id)
                        WHERE point_holds.mall_id = p_mall_id AND point_holds.id = t.id AND point_holds.status = 1
                        RETURNING 1
                    ) SELECT count(*)::integer INTO v_inserted FROM h;
                    IF v_inserted <> cardinality(p_capture_holds) THEN
                        v_stale := v_stale + 1;
                    END IF;
                END IF;
                v_spend_ids := ARRAY(SELECT CASE WHEN p_points_spent[i] > 0 THEN nextval('journals_id_seq'::regclass) END FROM generate_series(1, n) AS i);
                INSERT INTO journals (mall_id, id, kind, member_id, member_points, order_id, merchant_id, description, lines, created_at)
                OVERRIDING SYSTEM VALUE
                SELECT p_mall_id, v_spend_ids[i], p_spend_kind, p_member_ids[i], -p_points_spent[i], v_order_ids[i], p_merchant_ids[i],
                    'points paid at order ' || p_order_numbers[i], p_spend_lines[i]::jsonb, statement_timestamp()
                FROM generate_series(1, n) AS i WHERE p_points_spent[i] > 0;
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
                SELECT p_mall_id, CASE t.journal WHEN 2 THEN v_spend_ids[t.i] ELSE v_journal_ids[t.i] END, t.seq, t.kind, t.owner, t.points
                FROM unnest(p_posting_orders, p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points, p_posting_journals)
                    AS t(i, seq, kind, owner, points, journal)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_inserted FROM p;
            IF v_inserted <> cardinality(p_posting_orders) THEN
                RAISE EXCEPTION 'record_orders wrote % of % postings', v_inserted, cardinality(p_posting_orders);
            END IF;

            UPDATE members SET balance_points = balance_points + t.earned - t.spent, debt_points = debt_points - t.repaid,
                lifetime_earned_points = lifetime_earned_points + t.earned,
                expiry_due_at = least(members.expiry_due_at, from_epoch_ms(nullif(t.due, 0)))
            FROM unnest(p_credit_members, p_credit_earned, p_credit_repaid, p_credit_due, p_credit_spent) AS t(id, earned, repaid, due, spent)
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


        DROP FUNCTION record_refund;
        CREATE FUNCTION record_refund(
            p_mall_id bigint, p_order_id bigint, p_merchant_id bigint, p_member_id bigint, p_refund_id text, p_request_hash bytea,
            p_refund_minor bigint, p_order_clawed bigint, p_funding text, p_lines text, p_covered bigint, p_shortfall bigint, p_debt bigint,
            p_member_points bigint, p_journal_kind smallint, p_description text, p_explanation text, p_draw_lots bigint[], p_draw_points bigint[],
            p_posting_seqs smallint[], p_posting_kinds smallint[], p_posting_owners bigint[], p_posting_points bigint[],
            p_expired_lots bigint[], p_expired_points bigint[], p_expired bigint, p_seq integer, p_returned bigint, p_coupons_restored integer
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
                debt_points, expired_points, seq, created_at, returned_points, coupons_restored)
            VALUES (p_mall_id, p_merchant_id, p_refund_id, p_order_id, p_request_hash, p_refund_minor, p_covered, p_shortfall, p_debt,
                p_expired, p_seq, statement_timestamp(), p_returned, p_coupons_restored)
            RETURNING epoch_ms(created_at) INTO v_created_ms;
            RETURN v_created_ms;
        END
        $$;
        """#)
}
