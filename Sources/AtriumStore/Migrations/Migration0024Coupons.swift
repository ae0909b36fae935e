extension Migration {
    /// Coupons issued from templates (`CouponStore.issue`): one row per coupon, its code unique in
    /// the mall, its window fixed at issue. A coupon is stored as issued or used; whether it has
    /// expired is read from `valid_until` (`CouponStatus.at`). Issuing locks the template row, so
    /// its `issued_count` and each member's count stay within the template's limits.
    static let coupons = Migration(version: 24, name: "coupons", sql: #"""
        CREATE TABLE coupons (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            template_id bigint NOT NULL,
            member_id bigint NOT NULL,
            code text NOT NULL CHECK (length(code) = 16),
            used boolean NOT NULL DEFAULT false,
            issued_at timestamptz NOT NULL,
            valid_from timestamptz NOT NULL,
            valid_until timestamptz NOT NULL CHECK (valid_until > valid_from),
            PRIMARY KEY (mall_id, id),
            UNIQUE (mall_id, code),
            FOREIGN KEY (mall_id, template_id) REFERENCES coupon_templates (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id)
        );
        CREATE INDEX coupons_by_member ON coupons (mall_id, member_id, id);
        CREATE INDEX coupons_by_template_member ON coupons (mall_id, template_id, member_id);
        SELECT isolate_by_mall('coupons');
        """#)
}
