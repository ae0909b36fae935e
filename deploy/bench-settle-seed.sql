-- Seeds the `settle` benchmark: :entries points issued by the merchants of mall :mall, as a
-- month of a busy mall's orders would leave them: each one an earn journal (the member up, the
-- merchant's funder account down: one clearing entry), its lot and the member's cached balance,
-- so the ledger check holds before and after the close.
-- Run as the cluster's superuser (row-level security does not apply):
--   psql -v mall=ID -v entries=N -f deploy/bench-settle-seed.sql
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE seed_members AS
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM members WHERE mall_id = :mall;
CREATE TEMP TABLE seed_merchants AS
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM merchants WHERE mall_id = :mall;
CREATE TEMP TABLE seed_entries AS
    SELECT m.id AS member_id, x.id AS merchant_id, 10 + g.i % 90 AS points
    FROM generate_series(0, :entries - 1) AS g(i)
    JOIN seed_members m ON m.n = g.i % (SELECT count(*) FROM seed_members)
    JOIN seed_merchants x ON x.n = g.i % (SELECT count(*) FROM seed_merchants);
CREATE TEMP TABLE seed_journals AS
    WITH j AS (
        INSERT INTO journals (mall_id, kind, member_id, member_points, merchant_id, description)
        SELECT :mall, 1, member_id, points, merchant_id, 'seeded order' FROM seed_entries
        RETURNING id, member_id, merchant_id, member_points
    ) SELECT * FROM j;
INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
    SELECT :mall, id, 0, 0, member_id, member_points FROM seed_journals
    UNION ALL
    SELECT :mall, id, 1, 2, merchant_id, -member_points FROM seed_journals;
INSERT INTO lots (mall_id, member_id, funder_kind, funder_id, source, amount_points, remaining_points, earned_at, available_at)
    SELECT :mall, member_id, 2, merchant_id, 1, points, points, now(), now() FROM seed_entries;
UPDATE members SET balance_points = balance_points + s.points, lifetime_earned_points = lifetime_earned_points + s.points
    FROM (SELECT member_id, sum(points) AS points FROM seed_entries GROUP BY member_id) s
    WHERE members.mall_id = :mall AND members.id = s.member_id;
COMMIT;
-- Written back and analysed, as a month's tables are by the time it closes.
VACUUM ANALYZE lots, members, journals, postings;
CHECKPOINT;
