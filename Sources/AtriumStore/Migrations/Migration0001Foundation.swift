extension Migration {
    /// Malls, platform credentials, merchants, partners, API keys, idempotency records, and the
    /// row-level security that fences every tenant table to the mall set for the transaction.
    static let foundation = Migration(version: 1, name: "foundation", sql: #"""
        -- Instants cross the wire as milliseconds since 1970, exactly.
        CREATE FUNCTION epoch_ms(t timestamptz) RETURNS bigint
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (extract(epoch FROM t) * 1000)::bigint $$;
        CREATE FUNCTION from_epoch_ms(ms bigint) RETURNS timestamptz
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT timestamptz 'epoch' + ms * interval '1 millisecond' $$;

        CREATE TABLE malls (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            code text NOT NULL UNIQUE CHECK (length(code) BETWEEN 3 AND 40),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            currency_code text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
            time_zone text NOT NULL,
            redeem_points bigint NOT NULL CHECK (redeem_points > 0),
            redeem_value_minor bigint NOT NULL CHECK (redeem_value_minor > 0),
            issue_points bigint NOT NULL CHECK (issue_points > 0),
            issue_value_minor bigint NOT NULL CHECK (issue_value_minor > 0),
            expiry_policy smallint NOT NULL CHECK (expiry_policy BETWEEN 1 AND 4),
            expiry_parameter integer NOT NULL CHECK (expiry_parameter >= 0),
            refund_shortfall_policy smallint NOT NULL CHECK (refund_shortfall_policy IN (1, 2)),
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE platform_keys (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            label text NOT NULL,
            key_hash bytea NOT NULL UNIQUE,
            prefix text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at timestamptz
        );

        -- Idempotency of the platform operator's mutations (no mall yet when a mall is created).
        CREATE TABLE platform_requests (
            request_id text PRIMARY KEY,
            method text NOT NULL,
            request_hash bytea NOT NULL,
            response bytea,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE merchants (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            code text NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            category smallint NOT NULL CHECK (category BETWEEN 1 AND 9),
            status smallint NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
            unit_number text NOT NULL DEFAULT '',
            settlement_account_name text NOT NULL DEFAULT '',
            settlement_bank_name text NOT NULL DEFAULT '',
            settlement_account_number text NOT NULL DEFAULT '',
            settlement_cycle_days integer NOT NULL DEFAULT 30 CHECK (settlement_cycle_days BETWEEN 1 AND 90),
            pending_days integer NOT NULL DEFAULT 0 CHECK (pending_days BETWEEN 0 AND 90),
            suspension_reason text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, code)
        );

        CREATE TABLE partners (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            code text NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, code)
        );

        CREATE TABLE api_keys (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            role smallint NOT NULL CHECK (role IN (2, 3, 4)),
            merchant_id bigint,
            partner_id bigint,
            label text NOT NULL,
            key_hash bytea NOT NULL,
            prefix text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at timestamptz,
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, key_hash),
            FOREIGN KEY (mall_id, merchant_id) REFERENCES merchants (mall_id, id),
            FOREIGN KEY (mall_id, partner_id) REFERENCES partners (mall_id, id),
            CHECK ((role = 3) = (merchant_id IS NOT NULL)),
            CHECK ((role = 4) = (partner_id IS NOT NULL))
        );

        -- One row per (caller scope, request id): the claim, the request's hash and the response.
        CREATE TABLE idempotency_records (
            mall_id bigint NOT NULL REFERENCES malls (id),
            scope text NOT NULL,
            request_id text NOT NULL,
            request_hash bytea NOT NULL,
            response bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, scope, request_id)
        );

        -- Fences a tenant table to the mall set for the transaction (SET LOCAL atrium.mall_id).
        -- FORCE binds the table owner too; an empty setting matches no row instead of failing.
        CREATE FUNCTION isolate_by_mall(t text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
            EXECUTE format($p$CREATE POLICY mall_isolation ON %I
                USING (mall_id = nullif(current_setting('atrium.mall_id', true), '')::bigint)
                WITH CHECK (mall_id = nullif(current_setting('atrium.mall_id', true), '')::bigint)$p$, t);
        END
        $$;

        SELECT isolate_by_mall(t) FROM unnest(ARRAY['merchants', 'partners', 'api_keys', 'idempotency_records']) AS t;
        """#)
}
