/// What a coupon gives.
public enum CouponBenefit: Sendable, Equatable {
    case amountOff(minor: Int64)
    /// A share of the eligible basket, in basis points, at most `capMinor` (0: no cap).
    case percentOff(basisPoints: Int32, capMinor: Int64)
    /// A gift handed over at the counter: no money off.
    case freeGift(description: String)

    public var kind: Int16 {
        switch self {
        case .amountOff: 1
        case .percentOff: 2
        case .freeGift: 3
        }
    }
}

/// When a coupon of the template may be used.
public enum CouponValidity: Sendable, Equatable {
    /// From `startsAt` until just before `endsAt`, whenever it was issued.
    case fixed(startsAtMilliseconds: Int64, endsAtMilliseconds: Int64)
    /// From its issue until `days` days later.
    case daysAfterIssue(Int32)

    /// The window of a coupon issued at `issuedAtMilliseconds`: [from, until).
    public func window(issuedAtMilliseconds: Int64) -> (fromMilliseconds: Int64, untilMilliseconds: Int64) {
        switch self {
        case .fixed(let starts, let ends): (starts, ends)
        case .daysAfterIssue(let days): (issuedAtMilliseconds, issuedAtMilliseconds + Int64(days) * 86_400_000)
        }
    }
}

/// A kind of coupon HQ issues: its benefit, where and when it applies, how many there may be,
/// and who pays for its discount (the mall's share of the face value; the merchant where it is
/// written off bears the rest).
public struct CouponTemplate: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var benefit: CouponBenefit
    /// The eligible basket a coupon needs, before its discount.
    public var minimumSpendMinor: Int64
    public var validity: CouponValidity
    /// Empty: every merchant; otherwise only these (and only merchants of `categories`, if any).
    public var merchantIds: [Int64]
    public var categories: [MerchantCategory]
    /// Coupons one member may hold of this template.
    public var perMemberLimit: Int32
    /// Coupons that may ever be issued; 0: no limit.
    public var totalQuantity: Int64
    public var mallShareBasisPoints: Int32

    public init(
        id: Int64, name: String, benefit: CouponBenefit, minimumSpendMinor: Int64, validity: CouponValidity, merchantIds: [Int64],
        categories: [MerchantCategory], perMemberLimit: Int32, totalQuantity: Int64, mallShareBasisPoints: Int32
    ) {
        self.id = id
        self.name = name
        self.benefit = benefit
        self.minimumSpendMinor = minimumSpendMinor
        self.validity = validity
        self.merchantIds = merchantIds
        self.categories = categories
        self.perMemberLimit = perMemberLimit
        self.totalQuantity = totalQuantity
        self.mallShareBasisPoints = mallShareBasisPoints
    }

    /// One chain of checks; `field` prefixes the request fields named.
    public func validate(field prefix: String = "template") throws(DomainError) {
        try Validate.text(name, field: "\(prefix).name", min: 1, max: Limits.nameLengthMax)
        switch benefit {
        case .amountOff(let minor):
            try Validate.range(minor, field: "\(prefix).amount_off_minor", 1...Limits.orderAmountMinorMax)
        case .percentOff(let basisPoints, let capMinor):
            try Validate.range(basisPoints, field: "\(prefix).percent_off_basis_points", 1...10_000)
            try Validate.range(capMinor, field: "\(prefix).percent_off_cap_minor", 0...Limits.orderAmountMinorMax)
        case .freeGift(let description):
            try Validate.text(description, field: "\(prefix).free_gift", min: 1, max: Limits.nameLengthMax)
        }
        try Validate.range(minimumSpendMinor, field: "\(prefix).minimum_spend_minor", 0...Limits.orderAmountMinorMax)
        switch validity {
        case .fixed(let starts, let ends):
            guard starts > 0, ends > starts else { throw .invalid("\(prefix).valid_until_unix_ms", "must be after valid_from_unix_ms (both required)") }
            try Validate.instant(starts, field: "\(prefix).valid_from_unix_ms")
            try Validate.instant(ends, field: "\(prefix).valid_until_unix_ms")
        case .daysAfterIssue(let days):
            try Validate.range(days, field: "\(prefix).valid_days_after_issue", 1...Limits.couponValidDaysMax)
        }
        guard merchantIds.count <= Limits.couponMerchantsMax else { throw .invalid("\(prefix).merchant_ids", "at most \(Limits.couponMerchantsMax) merchants") }
        guard Set(merchantIds).count == merchantIds.count else { throw .invalid("\(prefix).merchant_ids", "lists a merchant twice") }
        for (i, id) in merchantIds.enumerated() { try Validate.positiveId(id, field: "\(prefix).merchant_ids[\(i)]") }
        guard Set(categories).count == categories.count else { throw .invalid("\(prefix).categories", "lists a category twice") }
        try Validate.range(perMemberLimit, field: "\(prefix).per_member_limit", 1...Limits.couponsPerMemberMax)
        try Validate.range(totalQuantity, field: "\(prefix).total_quantity", 0...Limits.couponQuantityMax)
        try Validate.range(mallShareBasisPoints, field: "\(prefix).mall_share_basis_points", 0...10_000)
    }

    /// The money off an eligible basket of `basketMinor` (before the discount): never more than
    /// the basket; 0 for a gift. Whether the coupon applies at all is `refusal(...)`'s.
    public func discountMinor(basketMinor: Int64) -> Int64 {
        precondition(basketMinor >= 0)
        switch benefit {
        case .amountOff(let minor):
            return min(minor, basketMinor)
        case .percentOff(let basisPoints, let capMinor):
            let off = Arithmetic.multiplyDivide(basketMinor, Int64(basisPoints), 10_000)
            return capMinor > 0 ? min(off, capMinor) : off
        case .freeGift:
            return 0
        }
    }

    /// The mall's part of a discount (rounded down: the merchant bears the odd minor unit).
    public func mallShareMinor(ofDiscountMinor discount: Int64) -> Int64 {
        Arithmetic.multiplyDivide(discount, Int64(mallShareBasisPoints), 10_000)
    }

    /// Why a coupon of this template does not apply to a basket at `merchantId` (of `category`)
    /// at `nowMilliseconds`, for a coupon issued at `issuedAtMilliseconds`; nil when it applies.
    public func refusal(
        basketMinor: Int64, merchantId: Int64, category: MerchantCategory, issuedAtMilliseconds: Int64, nowMilliseconds: Int64
    ) -> DomainError? {
        let window = validity.window(issuedAtMilliseconds: issuedAtMilliseconds)
        guard nowMilliseconds >= window.fromMilliseconds else { return .failedPrecondition(.couponNotYetValid, "the coupon is valid from \(window.fromMilliseconds)") }
        guard nowMilliseconds < window.untilMilliseconds else { return .failedPrecondition(.couponExpired, "the coupon expired at \(window.untilMilliseconds)") }
        guard merchantIds.isEmpty || merchantIds.contains(merchantId) else { return .failedPrecondition(.couponNotForMerchant, "the coupon is not valid at merchant \(merchantId)") }
        guard categories.isEmpty || categories.contains(category) else { return .failedPrecondition(.couponNotForMerchant, "the coupon is not valid in this merchant's category") }
        guard basketMinor >= minimumSpendMinor else {
            return .failedPrecondition(.couponMinimumSpend, "the coupon needs an eligible spend of \(minimumSpendMinor) minor units")
        }
        return nil
    }
}
