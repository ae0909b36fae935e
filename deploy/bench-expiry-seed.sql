-- Seeds the `expiry` benchmark: :lots lots spread evenly over the members of mall :mall, as a
-- mall's opening balances carried over from its previous system would arrive, all expired
-- within the last day. Each lot is funded by one of the mall's merchants; each member gets one
-- balanced opening journal (member up, each funder down) and its cached balance and
-- expiry_due_at, so the ledger check holds before and after the run.
-- Run as the cluster's superuser (row-level security does not apply):
--   psql -v mall=ID -v lots=N -f deploy/bench-expiry-seed.sql
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE seed_members AS
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM members WHERE mall_id = :mall;
CREATE TEMP TABLE seed_merchants AS
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM merchants WHERE mall_id = :mall;
CREATE TEMP TABLE seed_lots AS
    SELECT m.id AS member_id, x.id AS funder_id, 10 + (g.i * 7 + m.n) % 90 AS points,
        now() - interval '1 day' + ((g.i * 131 + m.n) % 1440) * interval '1 minute' AS expires_at
    FROM seed_members m
    CROSS JOIN generate_series(0, (:lots - 1) / (SELECT count(*) FROM seed_members)) AS g(i)
    JOIN seed_merchants x ON x.n = (m.n + g.i) % (SELECT count(*) FROM seed_merchants)
    WHERE g.i * (SELECT count(*) FROM seed_members) + m.n < :lots;
INSERT INTO lots (mall_id, member_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at, available_at, expires_at)
    SELECT :mall, member_id, 2, funder_id, 3, points, points, now() - interval '400 days', now() - interval '400 days', expires_at FROM seed_lots;
CREATE TEMP TABLE seed_journals AS
    WITH j AS (
        INSERT INTO journals (mall_id, kind, member_id, member_points, description)
        SELECT :mall, 3, member_id, sum(points), 'opening balance' FROM seed_lots GROUP BY member_id
        RETURNING id, member_id, member_points
    ) SELECT * FROM j;
INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
    SELECT :mall, id, 0, 0, member_id, member_points FROM seed_journals
    UNION ALL
    SELECT :mall, j.id, row_number() OVER (PARTITION BY j.id ORDER BY f.funder_id), 2, f.funder_id, -f.points
    FROM seed_journals j JOIN (SELECT member_id, funder_id, sum(points) AS points FROM seed_lots GROUP BY 1, 2) f ON f.member_id = j.member_id;
UPDATE members SET balance_points = balance_points + s.points, expiry_due_at = least(members.expiry_due_at, s.due_at)
    FROM (SELECT member_id, sum(points) AS points, min(expires_at) AS due_at FROM seed_lots GROUP BY member_id) s
    WHERE members.mall_id = :mall AND members.id = s.member_id;
COMMIT;
-- As a mall's tables are long before its points expire: vacuumed and analysed, written back.
-- Without it autovacuum takes up the million new lots in the middle of the measurement.
VACUUM ANALYZE lots, members, journals, postings;
CHECKPOINT;
