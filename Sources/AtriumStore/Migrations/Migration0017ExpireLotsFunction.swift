extension Migration {
    /// An expiry batch's write becomes one function, `expire_lots`, for the reasons of migration
    /// 15. For members the caller holds: every live lot due by `p_as_of_ms` goes to zero (its
    /// `expired_points` keep what it held), each member gets one expiry journal (its id drawn
    /// first) with its posting at seq 0 and each funder's after it in (kind, owner) order, and
    /// the member's balance falls and its `expiry_due_at` moves to its next live lot's expiry.
    /// Answers (lots expired, points expired, members debited).
    static let expireLotsFunction = Migration(version: 17, name: "expire_lots_function", sql: #"""
        CREATE FUNCTION expire_lots(p_mall_id bigint, p_member_ids bigint[], p_as_of_ms bigint, p_kind smallint)
        RETURNS TABLE (lots bigint, points bigint, members bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_as_of timestamptz := from_epoch_ms(p_as_of_ms);
            r record;
            v_lot_ids bigint[] := '{}';
            v_lot_members bigint[] := '{}';
            v_lot_kinds smallint[] := '{}';
            v_lot_owners bigint[] := '{}';
            v_lot_expires timestamptz[] := '{}';
            v_lot_points bigint[] := '{}';
            v_members bigint[];
            v_member_points bigint[];
            v_member_lines jsonb[];
            v_journal_ids bigint[];
            v_posted integer;
            v_wanted integer;
        BEGIN
            -- A live lot has expired nothing yet (lots_expired_points_check), so what it now holds
            -- as expired is what this update took.
            FOR r IN
                UPDATE lots SET remaining_points = 0, expired_points = remaining_points
                WHERE mall_id = p_mall_id AND member_id = ANY(p_member_ids) AND remaining_points > 0 AND expires_at <= v_as_of
                RETURNING id, member_id, funder_kind, funder_id, expires_at, expired_points
            LOOP
                v_lot_ids := v_lot_ids || r.id;
                v_lot_members := v_lot_members || r.member_id;
                v_lot_kinds := v_lot_kinds || r.funder_kind;
                v_lot_owners := v_lot_owners || r.funder_id;
                v_lot_expires := v_lot_expires || r.expires_at;
                v_lot_points := v_lot_points || r.expired_points;
            END LOOP;

            SELECT coalesce(array_agg(x.member_id ORDER BY x.member_id), '{}'), coalesce(array_agg(x.points ORDER BY x.member_id), '{}'),
                coalesce(array_agg(x.lines ORDER BY x.member_id), '{}')
            INTO v_members, v_member_points, v_member_lines
            FROM (
                SELECT t.member_id, sum(t.points)::bigint AS points,
                    jsonb_agg(jsonb_build_object(
                        'rule', 'expiry', 'description', 'lot ' || t.id || ' expired', 'points', -t.points,
                        'funder', CASE t.kind WHEN 1 THEN 'mall' WHEN 2 THEN 'merchant:' || t.owner ELSE 'partner:' || t.owner END
                    ) ORDER BY t.expires_at, t.id) AS lines
                FROM unnest(v_lot_ids, v_lot_members, v_lot_kinds, v_lot_owners, v_lot_expires, v_lot_points) AS t(id, member_id, kind, owner, expires_at, points)
                GROUP BY t.member_id
            ) x;

            v_journal_ids := ARRAY(SELECT nextval('journals_id_seq'::regclass) FROM generate_series(1, cardinality(v_members)));
            INSERT INTO journals (mall_id, id, kind, member_id, member_points, description, lines, created_at)
            OVERRIDING SYSTEM VALUE
            SELECT p_mall_id, v_journal_ids[i], p_kind, v_members[i], -v_member_points[i], v_member_points[i] || ' points expired', v_member_lines[i],
                statement_timestamp()
            FROM generate_series(1, cardinality(v_members)) AS i;

            -- RETURNING, counted: without it Citus sends the rows as COPY, which row-level security refuses.
            WITH p AS (
                INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
                SELECT p_mall_id, v_journal_ids[i], 0, 0, v_members[i], -v_member_points[i] FROM generate_series(1, cardinality(v_members)) AS i
                UNION ALL
                SELECT p_mall_id, v_journal_ids[array_position(v_members, f.member_id)],
                    (row_number() OVER (PARTITION BY f.member_id ORDER BY f.kind, f.owner))::smallint, f.kind, f.owner, f.points
                FROM (
                    SELECT t.member_id, t.kind, t.owner, sum(t.points)::bigint AS points
                    FROM unnest(v_lot_members, v_lot_kinds, v_lot_owners, v_lot_points) AS t(member_id, kind, owner, points)
                    GROUP BY t.member_id, t.kind, t.owner
                ) f
                RETURNING 1
            ) SELECT count(*)::integer INTO v_posted FROM p;
            SELECT cardinality(v_members) + count(*)::integer INTO v_wanted
            FROM (SELECT DISTINCT t.member_id, t.kind, t.owner FROM unnest(v_lot_members, v_lot_kinds, v_lot_owners) AS t(member_id, kind, owner)) d;
            IF v_posted <> v_wanted THEN
                RAISE EXCEPTION 'expire_lots wrote % of % postings', v_posted, v_wanted;
            END IF;

            UPDATE members SET balance_points = members.balance_points - coalesce(pm.points, 0), expiry_due_at = nx.due_at
            FROM unnest(p_member_ids) AS held(id)
            LEFT JOIN unnest(v_members, v_member_points) AS pm(member_id, points) ON pm.member_id = held.id
            LEFT JOIN (
                SELECT l.member_id, min(l.expires_at) AS due_at FROM lots l
                WHERE l.mall_id = p_mall_id AND l.member_id = ANY(p_member_ids) AND l.remaining_points > 0 AND l.expires_at > v_as_of
                GROUP BY l.member_id
            ) nx ON nx.member_id = held.id
            WHERE members.mall_id = p_mall_id AND members.id = held.id;

            RETURN QUERY SELECT cardinality(v_lot_ids)::bigint, coalesce((SELECT sum(x) FROM unnest(v_lot_points) AS x), 0)::bigint,
                cardinality(v_members)::bigint;
        END
        $$;
        """#)
}
