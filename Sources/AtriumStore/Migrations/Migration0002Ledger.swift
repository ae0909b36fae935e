extension Migration {
    /// Members, tiers, earning rules, campaigns, orders and refunds, and the double-entry points
    /// ledger: journals of postings that sum to zero, and lots that carry expiry and funder.
    static let ledger = Migration(version: 2, name: "ledger", sql: #"""
        CREATE TABLE tiers (
            mall_id bigint NOT NULL REFERENCES malls (id),
            code text NOT NULL,
            name text NOT NULL,
            rank integer NOT NULL CHECK (rank BETWEEN 0 AND 100),
            multiplier_basis_points integer NOT NULL CHECK (multiplier_basis_points BETWEEN 10000 AND 100000),
            PRIMARY KEY (mall_id, code)
        );

        CREATE TABLE members (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            member_code text NOT NULL,
            phone text NOT NULL,
            name text NOT NULL DEFAULT '',
            birthday date,
            tier_code text NOT NULL,
            frozen boolean NOT NULL DEFAULT false,
            frozen_reason text NOT NULL DEFAULT '',
            referral_code text NOT NULL,
            referred_by_member_id bigint,
            registered_by_merchant_id bigint,
            registered_at timestamptz NOT NULL DEFAULT now(),
            -- Cached in the same transaction as every posting: sum of the member's postings,
            -- which equals the sum of its lots' remaining points minus its debt.
            balance_points bigint NOT NULL DEFAULT 0,
            debt_points bigint NOT NULL DEFAULT 0 CHECK (debt_points >= 0),
            lifetime_earned_points bigint NOT NULL DEFAULT 0 CHECK (lifetime_earned_points >= 0),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, member_code),
            UNIQUE (mall_id, phone),
            UNIQUE (mall_id, referral_code)
        );

        CREATE TABLE member_qr_tokens (
            mall_id bigint NOT NULL REFERENCES malls (id),
            token text NOT NULL,
            member_id bigint NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (mall_id, token),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id)
        );

        CREATE TABLE category_rules (
            mall_id bigint NOT NULL REFERENCES malls (id),
            category smallint NOT NULL CHECK (category BETWEEN 1 AND 9),
            points_per_step bigint NOT NULL CHECK (points_per_step >= 0),
            step_amount_minor bigint NOT NULL CHECK (step_amount_minor > 0),
            minimum_order_minor bigint NOT NULL CHECK (minimum_order_minor >= 0),
            per_order_cap_points bigint NOT NULL CHECK (per_order_cap_points >= 0),
            per_member_daily_cap_points bigint NOT NULL CHECK (per_member_daily_cap_points >= 0),
            PRIMARY KEY (mall_id, category)
        );

        CREATE TABLE merchant_rules (
            mall_id bigint NOT NULL REFERENCES malls (id),
            merchant_id bigint NOT NULL,
            points_per_step bigint NOT NULL CHECK (points_per_step >= 0),
            step_amount_minor bigint NOT NULL CHECK (step_amount_minor > 0),
            minimum_order_minor bigint NOT NULL CHECK (minimum_order_minor >= 0),
            per_order_cap_points bigint NOT NULL CHECK (per_order_cap_points >= 0),
            per_member_daily_cap_points bigint NOT NULL CHECK (per_member_daily_cap_points >= 0),
            PRIMARY KEY (mall_id, merchant_id),
            FOREIGN KEY (mall_id, merchant_id) REFERENCES merchants (mall_id, id)
        );

        CREATE TABLE campaigns (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            name text NOT NULL,
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
            weekday_mask smallint NOT NULL DEFAULT 0,
            dates bigint[] NOT NULL DEFAULT '{}',
            merchant_ids bigint[] NOT NULL DEFAULT '{}',
            categories smallint[] NOT NULL DEFAULT '{}',
            tier_codes text[] NOT NULL DEFAULT '{}',
            multiplier_basis_points integer NOT NULL DEFAULT 0,
            bonus_points bigint NOT NULL DEFAULT 0 CHECK (bonus_points >= 0),
            minimum_eligible_minor bigint NOT NULL DEFAULT 0 CHECK (minimum_eligible_minor >= 0),
            budget_points bigint NOT NULL DEFAULT 0 CHECK (budget_points >= 0),
            spent_points bigint NOT NULL DEFAULT 0 CHECK (spent_points >= 0),
            stacking smallint NOT NULL CHECK (stacking IN (1, 2)),
            sponsor_merchant_id bigint,
            ended_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            FOREIGN KEY (mall_id, sponsor_merchant_id) REFERENCES merchants (mall_id, id),
            CHECK (budget_points = 0 OR spent_points <= budget_points)
        );

        CREATE TABLE orders (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            merchant_id bigint NOT NULL,
            order_number text NOT NULL,
            request_hash bytea NOT NULL,
            member_id bigint NOT NULL,
            store_id text NOT NULL,
            terminal_id text NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            points_paid_minor bigint NOT NULL CHECK (points_paid_minor >= 0),
            coupon_paid_minor bigint NOT NULL CHECK (coupon_paid_minor >= 0),
            eligible_minor bigint NOT NULL CHECK (eligible_minor >= 0),
            lines jsonb NOT NULL,
            paid_at timestamptz NOT NULL,
            breakdown jsonb NOT NULL,
            -- Per funder: [{"kind":2,"owner":7,"earned":100,"clawed":0}]
            funding jsonb NOT NULL,
            earned_points bigint NOT NULL CHECK (earned_points >= 0),
            refunded_minor bigint NOT NULL DEFAULT 0,
            clawed_back_points bigint NOT NULL DEFAULT 0,
            available_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, merchant_id, order_number),
            FOREIGN KEY (mall_id, merchant_id) REFERENCES merchants (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id),
            CHECK (refunded_minor BETWEEN 0 AND amount_minor),
            CHECK (clawed_back_points BETWEEN 0 AND earned_points)
        );
        CREATE INDEX orders_by_member ON orders (mall_id, member_id, id);

        CREATE TABLE refunds (
            mall_id bigint NOT NULL REFERENCES malls (id),
            merchant_id bigint NOT NULL,
            refund_id text NOT NULL,
            order_id bigint NOT NULL,
            request_hash bytea NOT NULL,
            amount_minor bigint NOT NULL CHECK (amount_minor > 0),
            clawed_back_points bigint NOT NULL CHECK (clawed_back_points >= 0),
            shortfall_points bigint NOT NULL CHECK (shortfall_points >= 0),
            debt_points bigint NOT NULL CHECK (debt_points >= 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, merchant_id, refund_id),
            FOREIGN KEY (mall_id, order_id) REFERENCES orders (mall_id, id)
        );
        CREATE INDEX refunds_by_order ON refunds (mall_id, order_id);

        CREATE TABLE journals (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 5),
            member_id bigint NOT NULL,
            -- The member's signed change; equals the member account's posting.
            member_points bigint NOT NULL,
            order_id bigint,
            merchant_id bigint,
            description text NOT NULL,
            lines jsonb NOT NULL DEFAULT '[]',
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id)
        );
        CREATE INDEX journals_by_member ON journals (mall_id, member_id, id DESC);

        -- Account kind 0 is a member (owner: member id); 1 mall, 2 merchant, 3 partner funders.
        CREATE TABLE postings (
            mall_id bigint NOT NULL REFERENCES malls (id),
            journal_id bigint NOT NULL,
            seq smallint NOT NULL,
            account_kind smallint NOT NULL CHECK (account_kind BETWEEN 0 AND 3),
            account_owner_id bigint NOT NULL,
            points bigint NOT NULL CHECK (points <> 0),
            PRIMARY KEY (mall_id, journal_id, seq),
            FOREIGN KEY (mall_id, journal_id) REFERENCES journals (mall_id, id)
        );
        CREATE INDEX postings_by_account ON postings (mall_id, account_kind, account_owner_id);

        CREATE TABLE lots (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            member_id bigint NOT NULL,
            order_id bigint,
            funder_kind smallint NOT NULL CHECK (funder_kind BETWEEN 1 AND 3),
            funder_id bigint NOT NULL,
            source smallint NOT NULL CHECK (source BETWEEN 1 AND 4),
            amount_points bigint NOT NULL CHECK (amount_points > 0),
            remaining_points bigint NOT NULL,
            earned_at timestamptz NOT NULL,
            available_at timestamptz NOT NULL,
            expires_at timestamptz,
            PRIMARY KEY (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id),
            CHECK (remaining_points BETWEEN 0 AND amount_points)
        );
        CREATE INDEX lots_live_by_member ON lots (mall_id, member_id, expires_at) WHERE remaining_points > 0;
        CREATE INDEX lots_by_order ON lots (mall_id, order_id) WHERE order_id IS NOT NULL;

        -- Points a member earned at a merchant on a mall-local day, for the daily cap.
        CREATE TABLE member_daily_earnings (
            mall_id bigint NOT NULL REFERENCES malls (id),
            member_id bigint NOT NULL,
            merchant_id bigint NOT NULL,
            local_day date NOT NULL,
            points bigint NOT NULL CHECK (points >= 0),
            PRIMARY KEY (mall_id, member_id, merchant_id, local_day)
        );

        SELECT isolate_by_mall(t) FROM unnest(ARRAY['tiers', 'members', 'member_qr_tokens', 'category_rules', 'merchant_rules',
            'campaigns', 'orders', 'refunds', 'journals', 'postings', 'lots', 'member_daily_earnings']) AS t;
        """#)
}
