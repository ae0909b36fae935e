extension Migration {
    /// A refund's debt is owed to the funder that came short. Until now the funder got the debt
    /// back at refund time and the member repaid it from points another merchant funded, which
    /// then paid for the first one's refund. Now the funder gets back at refund time only what
    /// the member's lots covered; the rest is the member's debt to it (`member_debts`), and each
    /// point the member repays goes to that funder in a repayment journal (kind 6) through the
    /// member's debt account (account kind 4: +debt at refund, −repaid at repayment).
    ///
    /// Debts recorded before this migration were already given back to their funders, so the
    /// mall fronted them: they become debts owed to the mall, with an opening journal (kind 3,
    /// adjustment) that moves them from the mall's account to the member's debt account. Backfill
    /// as in migration 11, with row-level security not forced while the owner sees every mall.
    static let memberDebts = Migration(version: 12, name: "member_debts", sql: #"""
        ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
        ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind BETWEEN 1 AND 6);
        ALTER TABLE postings DROP CONSTRAINT postings_account_kind_check;
        ALTER TABLE postings ADD CONSTRAINT postings_account_kind_check CHECK (account_kind BETWEEN 0 AND 4);
        ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_kind_check;
        ALTER TABLE settlement_lines ADD CONSTRAINT settlement_lines_kind_check CHECK (kind BETWEEN 1 AND 6);

        -- What each member owes each funder; the rows of a member sum to members.debt_points.
        CREATE TABLE member_debts (
            mall_id bigint NOT NULL REFERENCES malls (id),
            member_id bigint NOT NULL,
            funder_kind smallint NOT NULL CHECK (funder_kind BETWEEN 1 AND 3),
            funder_id bigint NOT NULL,
            points bigint NOT NULL CHECK (points >= 0),
            owed_since timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, member_id, funder_kind, funder_id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id)
        );
        SELECT isolate_by_mall('member_debts');

        ALTER TABLE members NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE journals NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE postings NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE member_debts NO FORCE ROW LEVEL SECURITY;
        INSERT INTO member_debts (mall_id, member_id, funder_kind, funder_id, points)
        SELECT mall_id, id, 1, 0, debt_points FROM members WHERE debt_points > 0;
        INSERT INTO journals (mall_id, kind, member_id, member_points, description)
        SELECT mall_id, 3, id, 0, 'debt fronted by the mall before migration 12' FROM members WHERE debt_points > 0;
        INSERT INTO postings (mall_id, journal_id, seq, account_kind, account_owner_id, points)
        SELECT j.mall_id, j.id, s.seq, s.kind, s.owner, s.points
        FROM journals j
        JOIN members m ON m.mall_id = j.mall_id AND m.id = j.member_id
        CROSS JOIN LATERAL (VALUES (0::smallint, 4::smallint, m.id, m.debt_points), (1::smallint, 1::smallint, 0::bigint, -m.debt_points))
            AS s(seq, kind, owner, points)
        WHERE j.kind = 3 AND j.description = 'debt fronted by the mall before migration 12';
        ALTER TABLE members FORCE ROW LEVEL SECURITY;
        ALTER TABLE journals FORCE ROW LEVEL SECURITY;
        ALTER TABLE postings FORCE ROW LEVEL SECURITY;
        ALTER TABLE member_debts FORCE ROW LEVEL SECURITY;
        """#)
}
