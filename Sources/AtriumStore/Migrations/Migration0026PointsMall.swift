extension Migration {
    /// The points mall (`RewardStore`): rewards with stock and limits, members' redemptions with
    /// their pickup codes, and which lots paid each (`redemption_draws`, so a cancellation gives
    /// the points back where they came from). A redemption's points go to the mall's own account;
    /// the merchant that hands a reward over is paid its agreed cost by a clearing entry in money
    /// (kind 10). A coupon bundle is handed over at once: its coupons are issued to the member in
    /// the redemption's transaction, and it is fulfilled as it is made.
    ///
    /// `record_redemption` and `cancel_redemption` write a redemption and its undoing one table at
    /// a time (on Citus, on the mall's worker), under the member's and the reward's row locks the
    /// caller holds: the stock, drawn lots, journal, postings and the member's balance.
    static let pointsMall = Migration(version: 26, name: "points_mall", sql: #"""
        CREATE TABLE rewards (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 4),
            points_price bigint NOT NULL CHECK (points_price > 0),
            cash_price_minor bigint NOT NULL CHECK (cash_price_minor >= 0),
            stock bigint NOT NULL CHECK (stock >= 0),
            per_member_limit integer NOT NULL CHECK (per_member_limit >= 1),
            per_day_limit integer NOT NULL CHECK (per_day_limit >= 0),
            available_from timestamptz,
            available_until timestamptz,
            tier_codes text[] NOT NULL DEFAULT '{}',
            merchant_id bigint NOT NULL,
            cost_minor bigint NOT NULL CHECK (cost_minor >= 0),
            redeemed_count bigint NOT NULL DEFAULT 0 CHECK (redeemed_count >= 0),
            coupon_template_id bigint,
            coupon_count integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            FOREIGN KEY (mall_id, merchant_id) REFERENCES merchants (mall_id, id),
            FOREIGN KEY (mall_id, coupon_template_id) REFERENCES coupon_templates (mall_id, id),
            CHECK ((kind = 4) = (coupon_template_id IS NOT NULL) AND (kind = 4) = (coupon_count > 0)),
            CHECK (available_until IS NULL OR available_from IS NULL OR available_until > available_from)
        );

        CREATE TABLE redemptions (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            reward_id bigint NOT NULL,
            member_id bigint NOT NULL,
            points bigint NOT NULL CHECK (points > 0),
            cash_minor bigint NOT NULL CHECK (cash_minor >= 0),
            pickup_code text NOT NULL CHECK (length(pickup_code) = 16),
            status smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 3),
            local_day date NOT NULL,
            created_at timestamptz NOT NULL,
            ended_at timestamptz,
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, pickup_code),
            FOREIGN KEY (mall_id, reward_id) REFERENCES rewards (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id),
            CHECK ((status = 1) = (ended_at IS NULL))
        );
        CREATE INDEX redemptions_by_member ON redemptions (mall_id, member_id, reward_id);

        CREATE TABLE redemption_draws (
            mall_id bigint NOT NULL REFERENCES malls (id),
            redemption_id bigint NOT NULL,
            lot_id bigint NOT NULL,
            funder_kind smallint NOT NULL CHECK (funder_kind BETWEEN 1 AND 3),
            funder_id bigint NOT NULL,
            points bigint NOT NULL CHECK (points > 0),
            PRIMARY KEY (mall_id, redemption_id, lot_id)
        );

        ALTER TABLE clearing_entries DROP CONSTRAINT clearing_entries_kind_check;
        ALTER TABLE clearing_entries ADD CONSTRAINT clearing_entries_kind_check CHECK (kind BETWEEN 8 AND 10);
        ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_kind_check;
        ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_kind_check CHECK (kind BETWEEN 1 AND 10);
        SELECT isolate_by_mall(t) FROM unnest(ARRAY['rewards', 'redemptions', 'redemption_draws']) AS t;

        CREATE FUNCTION record_redemption(
            p_mall_id bigint, p_reward_id bigint, p_member_id bigint, p_points bigint, p_cash bigint, p_code text, p_local_day text,
            p_draw_lots bigint[], p_draw_kinds smallint[], p_draw_owners bigint[], p_draw_points bigint[], p_journal_kind smallint,
            p_description text, p_lines text, p_posting_seqs smallint[], p_posting_kinds smallint[], p_posting_owners bigint[],
            p_posting_points bigint[]
        ) RETURNS TABLE (out_id bigint, out_created_ms bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_id bigint := nextval('redemptions_id_seq'::regclass);
            v_journal_id bigint := nextval('journals_id_seq'::regclass);
            v_rows integer;
        BEGIN
            WITH r AS (
                UPDATE rewards SET stock = stock - 1, redeemed_count = redeemed_count + 1
                WHERE mall_id = p_mall_id AND id = p_reward_id AND stock > 0
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM r;
            IF v_rows <> 1 THEN
                RAISE EXCEPTION 'record_redemption found reward % out of stock', p_reward_id;
            END IF;
            INSERT INTO redemptions (mall_id, id, reward_id, member_id, points, cash_minor, pickup_code, local_day, created_at)
            OVERRIDING SYSTEM VALUE
            VALUES (p_mall_id, v_id, p_reward_id, p_member_id, p_points, p_cash, p_code, p_local_day::date, statement_timestamp());
            WITH u AS (
                UPDATE lots SET remaining_points = lots.remaining_points - t.take
                FROM unnest(p_draw_lots, p_draw_points) AS t(id, take)
                WHERE lots.mall_id = p_mall_id AND lots.id = t.id AND lots.member_id = p_member_id AND lots.remaining_points >= t.take
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM u;
            IF v_rows <> cardinality(p_draw_lots) THEN
                RAISE EXCEPTION 'record_redemption drew from % of % lots', v_rows, cardinality(p_draw_lots);
            END IF;
            WITH d AS (
                INSERT INTO redemption_draws (mall_id, redemption_id, lot_id, funder_kind, funder_id, points)
                SELECT p_mall_id, v_id, t.lot, t.kind, t.owner, t.points
                FROM unnest(p_draw_lots, p_draw_kinds, p_draw_owners, p_draw_points) AS t(lot, kind, owner, points)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM d;
            IF v_rows <> cardinality(p_draw_lots) THEN
                RAISE EXCEPTION 'record_redemption wrote % of % draws', v_rows, cardinality(p_draw_lots);
            END IF;
            INSERT INTO journals (mall_id, id, kind, member_id, member_points, description, lines, created_at)
            OVERRIDING SYSTEM VALUE
            VALUES (p_mall_id, v_journal_id, p_journal_kind, p_member_id, -p_points, p_description, p_lines::jsonb, statement_timestamp());
            WITH p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT p_mall_id, v_journal_id, t.seq, t.kind, t.owner, t.points
                FROM unnest(p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points) AS t(seq, kind, owner, points)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM p;
            IF v_rows <> cardinality(p_posting_seqs) THEN
                RAISE EXCEPTION 'record_redemption wrote % of % postings', v_rows, cardinality(p_posting_seqs);
            END IF;
            UPDATE members SET balance_points = balance_points - p_points WHERE mall_id = p_mall_id AND id = p_member_id;
            RETURN QUERY SELECT v_id, epoch_ms(statement_timestamp());
        END
        $$;

        CREATE FUNCTION cancel_redemption(
            p_mall_id bigint, p_redemption_id bigint, p_reward_id bigint, p_member_id bigint, p_points bigint, p_journal_kind smallint,
            p_description text, p_lines text, p_posting_seqs smallint[], p_posting_kinds smallint[], p_posting_owners bigint[],
            p_posting_points bigint[], p_restore_lots bigint[], p_restore_points bigint[], p_new_kinds smallint[], p_new_owners bigint[],
            p_new_points bigint[], p_new_expires_at bigint, p_lot_source smallint
        ) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            v_journal_id bigint := nextval('journals_id_seq'::regclass);
            v_rows integer;
            v_due timestamptz;
        BEGIN
            WITH r AS (
                UPDATE redemptions SET status = 3, ended_at = statement_timestamp()
                WHERE mall_id = p_mall_id AND id = p_redemption_id AND status = 1
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM r;
            IF v_rows <> 1 THEN
                RAISE EXCEPTION 'cancel_redemption found redemption % not awaiting pickup', p_redemption_id;
            END IF;
            UPDATE rewards SET stock = stock + 1, redeemed_count = redeemed_count - 1 WHERE mall_id = p_mall_id AND id = p_reward_id;
            WITH u AS (
                UPDATE lots SET remaining_points = lots.remaining_points + t.give
                FROM unnest(p_restore_lots, p_restore_points) AS t(id, give)
                WHERE lots.mall_id = p_mall_id AND lots.id = t.id AND lots.member_id = p_member_id
                RETURNING lots.expires_at
            ) SELECT count(*)::integer, min(expires_at) INTO v_rows, v_due FROM u;
            IF v_rows <> cardinality(p_restore_lots) THEN
                RAISE EXCEPTION 'cancel_redemption restored % of % lots', v_rows, cardinality(p_restore_lots);
            END IF;
            IF cardinality(p_new_points) > 0 THEN
                WITH l AS (
                    INSERT INTO lots (mall_id, member_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at,
                        available_at, expires_at)
                    SELECT p_mall_id, p_member_id, t.kind, t.owner, p_lot_source, t.points, t.points, statement_timestamp(),
                        statement_timestamp(), from_epoch_ms(p_new_expires_at)
                    FROM unnest(p_new_kinds, p_new_owners, p_new_points) AS t(kind, owner, points)
                    RETURNING 1
                ) SELECT count(*)::integer INTO v_rows FROM l;
                IF v_rows <> cardinality(p_new_points) THEN
                    RAISE EXCEPTION 'cancel_redemption wrote % of % lots', v_rows, cardinality(p_new_points);
                END IF;
                v_due := least(v_due, from_epoch_ms(p_new_expires_at));
            END IF;
            INSERT INTO journals (mall_id, id, kind, member_id, member_points, description, lines, created_at)
            OVERRIDING SYSTEM VALUE
            VALUES (p_mall_id, v_journal_id, p_journal_kind, p_member_id, p_points, p_description, p_lines::jsonb, statement_timestamp());
            WITH p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT p_mall_id, v_journal_id, t.seq, t.kind, t.owner, t.points
                FROM unnest(p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points) AS t(seq, kind, owner, points)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM p;
            IF v_rows <> cardinality(p_posting_seqs) THEN
                RAISE EXCEPTION 'cancel_redemption wrote % of % postings', v_rows, cardinality(p_posting_seqs);
            END IF;
            UPDATE members SET balance_points = balance_points + p_points, expiry_due_at = least(expiry_due_at, v_due)
            WHERE mall_id = p_mall_id AND id = p_member_id;
            RETURN epoch_ms(statement_timestamp());
        END
        $$;
        """#)
}
