extension Migration {
    /// Coupon templates (`CouponTemplate`): what a mall's coupons give, where and when they apply,
    /// how many there may be, and the mall's share of their discount. `issued_count` is kept
    /// within `total_quantity` by the schema as well as by the issuing code.
    static let couponTemplates = Migration(version: 22, name: "coupon_templates", sql: #"""
        CREATE TABLE coupon_templates (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            benefit_kind smallint NOT NULL CHECK (benefit_kind IN (1, 2, 3)),
            amount_off_minor bigint NOT NULL DEFAULT 0 CHECK (amount_off_minor >= 0),
            percent_off_basis_points integer NOT NULL DEFAULT 0 CHECK (percent_off_basis_points BETWEEN 0 AND 10000),
            percent_off_cap_minor bigint NOT NULL DEFAULT 0 CHECK (percent_off_cap_minor >= 0),
            free_gift text NOT NULL DEFAULT '' CHECK (length(free_gift) <= 100),
            minimum_spend_minor bigint NOT NULL DEFAULT 0 CHECK (minimum_spend_minor >= 0),
            valid_from timestamptz,
            valid_until timestamptz,
            valid_days_after_issue integer CHECK (valid_days_after_issue > 0),
            merchant_ids bigint[] NOT NULL DEFAULT '{}',
            categories smallint[] NOT NULL DEFAULT '{}',
            per_member_limit integer NOT NULL CHECK (per_member_limit >= 1),
            total_quantity bigint NOT NULL DEFAULT 0 CHECK (total_quantity >= 0),
            issued_count bigint NOT NULL DEFAULT 0 CHECK (issued_count >= 0 AND (total_quantity = 0 OR issued_count <= total_quantity)),
            mall_share_basis_points integer NOT NULL CHECK (mall_share_basis_points BETWEEN 0 AND 10000),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (mall_id, id),
            CHECK ((valid_days_after_issue IS NULL) = (valid_from IS NOT NULL AND valid_until IS NOT NULL AND valid_until > valid_from))
        );
        SELECT isolate_by_mall('coupon_templates');
        """#)
}
