extension Migration {
    /// Points as payment at checkout, given back by refunds in `return_spent_points`.
    ///
    /// - `spend_draws`: which lots (and so which funders) paid an order, and how much of each a
    ///   refund has given back. Keyed by the order; no foreign keys, as for orders and lots
    ///   (migration 4): the ledger check covers them.
    /// - `orders.points_spent` / `points_returned`, `refunds.returned_points`: the totals.
    /// - `point_holds.order_id`: the order that captured the hold.
    /// - Lots of source 5 hold points a refund gave back after their own lot had expired; they
    ///   live the mall's `returned_points_validity_days`.
    /// - Journal kind 7 (`JournalKind.spendReturn`) and its settlement lines.
    ///
    /// The spend itself is written by `record_orders` and refunds by `record_refund`, both as
    /// migration 25 redefines them with coupons.
    static let pointsPayment = Migration(version: 23, name: "points_payment", sql: #"""
        ALTER TABLE malls ADD COLUMN returned_points_validity_days integer NOT NULL DEFAULT 30
            CHECK (returned_points_validity_days BETWEEN 1 AND 3660);
        ALTER TABLE orders ADD COLUMN points_spent bigint NOT NULL DEFAULT 0 CHECK (points_spent >= 0);
        ALTER TABLE orders ADD COLUMN points_returned bigint NOT NULL DEFAULT 0;
        ALTER TABLE orders ADD CONSTRAINT orders_points_returned_check CHECK (points_returned BETWEEN 0 AND points_spent);
        ALTER TABLE refunds ADD COLUMN returned_points bigint NOT NULL DEFAULT 0 CHECK (returned_points >= 0);
        ALTER TABLE point_holds ADD COLUMN order_id bigint;
        ALTER TABLE point_holds ADD CONSTRAINT point_holds_order_check CHECK ((status = 2) = (order_id IS NOT NULL));
        ALTER TABLE lots DROP CONSTRAINT lots_source_check;
        ALTER TABLE lots ADD CONSTRAINT lots_source_check CHECK (source BETWEEN 1 AND 5);
        ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
        ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind BETWEEN 1 AND 7);
        ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_kind_check;
        ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_kind_check CHECK (kind BETWEEN 1 AND 7);

        CREATE TABLE spend_draws (
            mall_id bigint NOT NULL REFERENCES malls (id),
            order_id bigint NOT NULL,
            lot_id bigint NOT NULL,
            funder_kind smallint NOT NULL CHECK (funder_kind BETWEEN 1 AND 3),
            funder_id bigint NOT NULL,
            points bigint NOT NULL CHECK (points > 0),
            returned_points bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (mall_id, order_id, lot_id),
            CHECK (returned_points BETWEEN 0 AND points)
        );
        SELECT isolate_by_mall('spend_draws');

        CREATE FUNCTION return_spent_points(
            p_mall_id bigint, p_order_id bigint, p_member_id bigint, p_merchant_id bigint, p_points bigint, p_journal_kind smallint,
            p_description text, p_lines text, p_posting_seqs smallint[], p_posting_kinds smallint[], p_posting_owners bigint[],
            p_posting_points bigint[], p_restore_lots bigint[], p_restore_points bigint[], p_new_kinds smallint[], p_new_owners bigint[],
            p_new_points bigint[], p_new_expires_at bigint, p_lot_source smallint, p_draw_lots bigint[], p_draw_returned bigint[]
        ) RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
            v_journal_id bigint := nextval('journals_id_seq'::regclass);
            v_rows integer;
            v_due timestamptz;
        BEGIN
            WITH u AS (
                UPDATE lots SET remaining_points = lots.remaining_points + t.give
                FROM unnest(p_restore_lots, p_restore_points) AS t(id, give)
                WHERE lots.mall_id = p_mall_id AND lots.id = t.id AND lots.member_id = p_member_id
                RETURNING lots.expires_at
            ) SELECT count(*)::integer, min(expires_at) INTO v_rows, v_due FROM u;
            IF v_rows <> cardinality(p_restore_lots) THEN
                RAISE EXCEPTION 'return_spent_points restored % of % lots', v_rows, cardinality(p_restore_lots);
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
                    RAISE EXCEPTION 'return_spent_points wrote % of % lots', v_rows, cardinality(p_new_points);
                END IF;
                v_due := least(v_due, from_epoch_ms(p_new_expires_at));
            END IF;
            WITH d AS (
                UPDATE spend_draws SET returned_points = spend_draws.returned_points + t.points
                FROM unnest(p_draw_lots, p_draw_returned) AS t(lot, points)
                WHERE spend_draws.mall_id = p_mall_id AND spend_draws.order_id = p_order_id AND spend_draws.lot_id = t.lot
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM d;
            IF v_rows <> cardinality(p_draw_lots) THEN
                RAISE EXCEPTION 'return_spent_points updated % of % draws', v_rows, cardinality(p_draw_lots);
            END IF;

            INSERT INTO journals (mall_id, id, kind, member_id, member_points, order_id, merchant_id, description, lines, created_at)
            OVERRIDING SYSTEM VALUE
            VALUES (p_mall_id, v_journal_id, p_journal_kind, p_member_id, p_points, p_order_id, p_merchant_id, p_description, p_lines::jsonb,
                statement_timestamp());
            WITH p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT p_mall_id, v_journal_id, t.seq, t.kind, t.owner, t.points
                FROM unnest(p_posting_seqs, p_posting_kinds, p_posting_owners, p_posting_points) AS t(seq, kind, owner, points)
                RETURNING 1
            ) SELECT count(*)::integer INTO v_rows FROM p;
            IF v_rows <> cardinality(p_posting_seqs) THEN
                RAISE EXCEPTION 'return_spent_points wrote % of % postings', v_rows, cardinality(p_posting_seqs);
            END IF;

            UPDATE members SET balance_points = balance_points + p_points, expiry_due_at = least(expiry_due_at, v_due)
            WHERE mall_id = p_mall_id AND id = p_member_id;
            UPDATE orders SET points_returned = points_returned + p_points WHERE mall_id = p_mall_id AND id = p_order_id;
            RETURN v_rows;
        END
        $$;

        """#)
}
