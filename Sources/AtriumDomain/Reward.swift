/// What a reward of the points mall is.
public enum RewardKind: Int16, Sendable, CaseIterable {
    case physicalGift = 1
    case parkingHours = 2
    case service = 3
    case couponBundle = 4
}

/// A reward HQ offers in the points mall: its price in points (and an optional cash co-payment,
/// taken at the pickup counter), stock, limits, when and to which tiers it is offered, and the
/// merchant that hands it over at an agreed cost (the mall pays it that cost when it does).
public struct Reward: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var kind: RewardKind
    public var pointsPrice: Int64
    public var cashPriceMinor: Int64
    /// Left to redeem.
    public var stock: Int64
    /// Redemptions one member may hold (cancelled ones do not count).
    public var perMemberLimit: Int32
    /// Redemptions one member may make per mall-local day; 0: no daily limit.
    public var perDayLimit: Int32
    /// [from, until); nil: open on that side.
    public var availableFromMilliseconds: Int64?
    public var availableUntilMilliseconds: Int64?
    /// Empty: every tier.
    public var tierCodes: [String]
    public var merchantId: Int64
    public var costMinor: Int64
    /// A coupon bundle's coupons: `couponCount` of template `couponTemplateId`; nil and 0 otherwise.
    public var couponTemplateId: Int64?
    public var couponCount: Int32

    public init(
        id: Int64, name: String, kind: RewardKind, pointsPrice: Int64, cashPriceMinor: Int64, stock: Int64, perMemberLimit: Int32, perDayLimit: Int32,
        availableFromMilliseconds: Int64?, availableUntilMilliseconds: Int64?, tierCodes: [String], merchantId: Int64, costMinor: Int64,
        couponTemplateId: Int64? = nil, couponCount: Int32 = 0
    ) {
        self.couponTemplateId = couponTemplateId
        self.couponCount = couponCount
        self.id = id
        self.name = name
        self.kind = kind
        self.pointsPrice = pointsPrice
        self.cashPriceMinor = cashPriceMinor
        self.stock = stock
        self.perMemberLimit = perMemberLimit
        self.perDayLimit = perDayLimit
        self.availableFromMilliseconds = availableFromMilliseconds
        self.availableUntilMilliseconds = availableUntilMilliseconds
        self.tierCodes = tierCodes
        self.merchantId = merchantId
        self.costMinor = costMinor
    }

    /// One chain of checks; `prefix` names the request's fields.
    public func validate(field prefix: String = "reward") throws(DomainError) {
        try Validate.text(name, field: "\(prefix).name", min: 1, max: Limits.nameLengthMax)
        try Validate.range(pointsPrice, field: "\(prefix).points_price", 1...Limits.orderPointsMax)
        try Validate.range(cashPriceMinor, field: "\(prefix).cash_price_minor", 0...Limits.orderAmountMinorMax)
        try Validate.range(stock, field: "\(prefix).stock", 0...Limits.couponQuantityMax)
        try Validate.range(perMemberLimit, field: "\(prefix).per_member_limit", 1...Limits.couponsPerMemberMax)
        try Validate.range(perDayLimit, field: "\(prefix).per_day_limit", 0...Limits.couponsPerMemberMax)
        if let from = availableFromMilliseconds { try Validate.instant(from, field: "\(prefix).available_from_unix_ms") }
        if let until = availableUntilMilliseconds { try Validate.instant(until, field: "\(prefix).available_until_unix_ms") }
        if let from = availableFromMilliseconds, let until = availableUntilMilliseconds, until <= from {
            throw .invalid("\(prefix).available_until_unix_ms", "must be after available_from_unix_ms")
        }
        guard tierCodes.count <= Limits.tiersPerMallMax, Set(tierCodes).count == tierCodes.count else {
            throw .invalid("\(prefix).tier_codes", "at most \(Limits.tiersPerMallMax) distinct tiers")
        }
        try Validate.positiveId(merchantId, field: "\(prefix).merchant_id")
        try Validate.range(costMinor, field: "\(prefix).cost_minor", 0...Limits.orderAmountMinorMax)
        if kind == .couponBundle {
            guard let couponTemplateId else { throw .invalid("\(prefix).coupon_template_id", "is required for a coupon bundle") }
            try Validate.positiveId(couponTemplateId, field: "\(prefix).coupon_template_id")
            try Validate.range(couponCount, field: "\(prefix).coupon_count", 1...Limits.rewardBundleCouponsMax)
        } else {
            guard couponTemplateId == nil, couponCount == 0 else { throw .invalid("\(prefix).coupon_template_id", "is for coupon bundles only") }
        }
    }

    /// Why `member` may not redeem this reward at `nowMilliseconds`; nil when it may. `held`: its
    /// redemptions of the reward not cancelled; `today`: those of them made on this mall-local day.
    public func refusal(tierCode: String, frozen: Bool, held: Int64, today: Int64, spendablePoints: Int64, atMilliseconds now: Int64) -> DomainError? {
        if frozen { return .failedPrecondition(.memberFrozen, "the member is frozen") }
        if let from = availableFromMilliseconds, now < from { return .failedPrecondition(.rewardUnavailable, "reward \(id) is offered from \(from)") }
        if let until = availableUntilMilliseconds, now >= until { return .failedPrecondition(.rewardUnavailable, "reward \(id) was offered until \(until)") }
        if !tierCodes.isEmpty && !tierCodes.contains(tierCode) { return .failedPrecondition(.rewardTierRestricted, "reward \(id) is for tiers \(tierCodes.joined(separator: ", "))") }
        if stock <= 0 { return .failedPrecondition(.rewardOutOfStock, "reward \(id) is out of stock") }
        if held >= Int64(perMemberLimit) { return .failedPrecondition(.rewardMemberLimit, "the member holds \(perMemberLimit) of reward \(id), its limit") }
        if perDayLimit > 0 && today >= Int64(perDayLimit) { return .failedPrecondition(.rewardDailyLimit, "the member redeemed reward \(id) \(perDayLimit) times today, its daily limit") }
        if spendablePoints < pointsPrice { return .failedPrecondition(.insufficientPoints, "the member can spend \(max(0, spendablePoints)) points, the reward costs \(pointsPrice)") }
        return nil
    }
}

/// A redemption's life: awaiting pickup, then fulfilled by the merchant with the pickup code, or
/// cancelled before that (points and stock come back).
public enum RedemptionStatus: Int16, Sendable {
    case awaitingPickup = 1
    case fulfilled = 2
    case cancelled = 3
}
