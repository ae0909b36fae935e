extension Migration {
    /// A mall's rules for points as payment at checkout (`PointsPaymentPolicy`): the largest share
    /// of a bill, and the smallest use. Existing malls take no points until the operator sets a share.
    static let pointsPaymentSettings = Migration(version: 20, name: "points_payment_settings", sql: #"""
        ALTER TABLE malls ADD COLUMN points_payment_max_share_basis_points integer NOT NULL DEFAULT 0
            CHECK (points_payment_max_share_basis_points BETWEEN 0 AND 10000);
        ALTER TABLE malls ADD COLUMN points_payment_minimum_points bigint NOT NULL DEFAULT 0
            CHECK (points_payment_minimum_points >= 0);
        """#)
}
