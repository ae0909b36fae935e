extension Migration {
    /// Clearing and settlement. Every clearing entry is already in the ledger: a funder's posting
    /// (a merchant or partner account) in a journal, recorded in the transaction of the event
    /// itself. A settlement period is a span of journal times, [starts_at, ends_at); closing it
    /// sums those postings per party and kind into immutable statements. Nothing is added to the
    /// order path but a BRIN index on `journals.created_at`, a few bytes per 128 pages, through
    /// which a close finds the period's journals.
    ///
    /// Periods of a mall follow each other without gaps (`starts_at` is unique and equals the
    /// previous `ends_at`); statements and lines cannot be changed or deleted once written.
    static let settlement = Migration(version: 10, name: "settlement", sql: #"""
        ALTER TABLE malls ADD COLUMN breakage_mall_share_basis_points integer NOT NULL DEFAULT 0
            CHECK (breakage_mall_share_basis_points BETWEEN 0 AND 10000);

        CREATE INDEX journals_by_time ON journals USING brin (created_at);

        CREATE TABLE settlement_periods (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            closed_at timestamptz NOT NULL DEFAULT now(),
            entries bigint NOT NULL CHECK (entries >= 0),
            statements integer NOT NULL CHECK (statements >= 0),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, starts_at),
            UNIQUE (mall_id, ends_at),
            CHECK (ends_at > starts_at)
        );

        -- party_kind: 1 mall, 2 merchant, 3 partner (as funder kinds); the mall's party_id is 0.
        CREATE TABLE settlement_statements (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            period_id bigint NOT NULL,
            party_kind smallint NOT NULL CHECK (party_kind BETWEEN 1 AND 3),
            party_id bigint NOT NULL,
            net_minor bigint NOT NULL,
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, period_id, party_kind, party_id),
            FOREIGN KEY (mall_id, period_id) REFERENCES settlement_periods (mall_id, id)
        );
        CREATE INDEX settlement_statements_by_party ON settlement_statements (mall_id, party_kind, party_id, id);

        -- kind: the journal kind of the entries (1 issued, 2 clawed back, 3 adjusted, 4 redeemed, 5 expired).
        CREATE TABLE settlement_lines (
            mall_id bigint NOT NULL REFERENCES malls (id),
            statement_id bigint NOT NULL,
            kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 5),
            entries bigint NOT NULL CHECK (entries > 0),
            points bigint NOT NULL,
            amount_minor bigint NOT NULL,
            PRIMARY KEY (mall_id, statement_id, kind),
            FOREIGN KEY (mall_id, statement_id) REFERENCES settlement_statements (mall_id, id)
        );

        CREATE FUNCTION refuse_settlement_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'settlement % rows are immutable', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END
        $$;
        CREATE TRIGGER settlement_periods_immutable BEFORE UPDATE OR DELETE ON settlement_periods
            FOR EACH ROW EXECUTE FUNCTION refuse_settlement_change();
        CREATE TRIGGER settlement_statements_immutable BEFORE UPDATE OR DELETE ON settlement_statements
            FOR EACH ROW EXECUTE FUNCTION refuse_settlement_change();
        CREATE TRIGGER settlement_lines_immutable BEFORE UPDATE OR DELETE ON settlement_lines
            FOR EACH ROW EXECUTE FUNCTION refuse_settlement_change();

        SELECT isolate_by_mall(t) FROM unnest(ARRAY['settlement_periods', 'settlement_statements', 'settlement_lines']) AS t;
        """#)
}
