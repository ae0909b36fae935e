extension Migration {
    /// Coupon holds (`CouponStore.holdCoupon`): a till or the member app reserves a coupon for a
    /// payment to come, until `held_until`. While the hold lives, only its holder (or any till,
    /// for the member app's hold) may write the coupon off; the timeout releases it as it is read.
    static let couponHolds = Migration(version: 27, name: "coupon_holds", sql: #"""
        ALTER TABLE coupons ADD COLUMN held_until timestamptz;
        ALTER TABLE coupons ADD COLUMN held_by_merchant_id bigint;
        """#)
}
