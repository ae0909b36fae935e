public enum CampaignStacking: Int16, Sendable {
    /// Applies together with every other stackable campaign.
    case stackable = 1
    /// Never combines: the order gets the better of the best exclusive campaign and the sum of
    /// the stackable ones.
    case exclusive = 2
}

/// A time-boxed earning boost: a multiplier of the base points or a fixed bonus, optionally with
/// a spend threshold and a points budget.
public struct Campaign: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var startsAtMilliseconds: Int64
    public var endsAtMilliseconds: Int64
    /// Bit n set (n = 1 Monday ... 7 Sunday): applies that weekday. 0: every day.
    public var weekdayMask: UInt8
    /// Local dates as days since 1970-01-01. Empty: every date in the window.
    public var dates: [Int64]
    public var merchantIds: [Int64]
    public var categories: [MerchantCategory]
    public var tierCodes: [String]
    /// 20_000 = double points (adds one more base). 0 when `bonusPoints` is used.
    public var multiplierBasisPoints: Int32
    public var bonusPoints: Int64
    public var minimumEligibleMinor: Int64
    /// 0: unlimited.
    public var budgetPoints: Int64
    public var spentPoints: Int64
    public var stacking: CampaignStacking
    /// nil: the mall funds it.
    public var sponsorMerchantId: Int64?
    public var ended: Bool

    public init(
        id: Int64, name: String, startsAtMilliseconds: Int64, endsAtMilliseconds: Int64, weekdayMask: UInt8 = 0,
        dates: [Int64] = [], merchantIds: [Int64] = [], categories: [MerchantCategory] = [], tierCodes: [String] = [],
        multiplierBasisPoints: Int32 = 0, bonusPoints: Int64 = 0, minimumEligibleMinor: Int64 = 0, budgetPoints: Int64 = 0,
        spentPoints: Int64 = 0, stacking: CampaignStacking = .stackable, sponsorMerchantId: Int64? = nil, ended: Bool = false
    ) {
        self.id = id
        self.name = name
        self.startsAtMilliseconds = startsAtMilliseconds
        self.endsAtMilliseconds = endsAtMilliseconds
        self.weekdayMask = weekdayMask
        self.dates = dates
        self.merchantIds = merchantIds
        self.categories = categories
        self.tierCodes = tierCodes
        self.multiplierBasisPoints = multiplierBasisPoints
        self.bonusPoints = bonusPoints
        self.minimumEligibleMinor = minimumEligibleMinor
        self.budgetPoints = budgetPoints
        self.spentPoints = spentPoints
        self.stacking = stacking
        self.sponsorMerchantId = sponsorMerchantId
        self.ended = ended
    }

    public var funder: Funder { sponsorMerchantId.map(Funder.merchant) ?? .mall }

    /// Points left in the budget; Int64.max when unlimited.
    public var remainingBudgetPoints: Int64 { budgetPoints == 0 ? .max : max(budgetPoints - spentPoints, 0) }

    public func validate() throws(DomainError) {
        try Validate.text(name, field: "campaign.name", min: 1, max: Limits.nameLengthMax)
        guard startsAtMilliseconds > 0 else { throw .invalid("campaign.starts_at_unix_ms", "is required") }
        try Validate.instant(startsAtMilliseconds, field: "campaign.starts_at_unix_ms")
        try Validate.instant(endsAtMilliseconds, field: "campaign.ends_at_unix_ms")
        guard endsAtMilliseconds > startsAtMilliseconds else {
            throw .invalid("campaign.ends_at_unix_ms", "must be after starts_at_unix_ms")
        }
        guard endsAtMilliseconds - startsAtMilliseconds <= Limits.campaignWindowMillisecondsMax else {
            throw .invalid("campaign.ends_at_unix_ms", "window must be at most 5 years")
        }
        guard dates.count <= Limits.campaignDatesMax else { throw .invalid("campaign.dates", "at most \(Limits.campaignDatesMax) dates") }
        guard merchantIds.count <= Limits.campaignTargetsMax else { throw .invalid("campaign.merchant_ids", "at most \(Limits.campaignTargetsMax) merchants") }
        guard tierCodes.count <= Limits.tiersPerMallMax else { throw .invalid("campaign.tier_codes", "at most \(Limits.tiersPerMallMax) tiers") }
        for (i, code) in tierCodes.enumerated() { try Validate.code(code, field: "campaign.tier_codes[\(i)]", max: 20, lowercaseOnly: true) }
        let usesMultiplier = multiplierBasisPoints != 0
        guard usesMultiplier != (bonusPoints != 0) else {
            throw .invalid("campaign.multiplier_basis_points", "set exactly one of multiplier_basis_points and bonus_points")
        }
        if usesMultiplier {
            try Validate.range(multiplierBasisPoints, field: "campaign.multiplier_basis_points", Limits.multiplierBasisPointsMin + 1...Limits.multiplierBasisPointsMax)
        } else {
            try Validate.range(bonusPoints, field: "campaign.bonus_points", 1...Limits.bonusPointsMax)
        }
        try Validate.range(minimumEligibleMinor, field: "campaign.minimum_eligible_minor", 0...Limits.orderAmountMinorMax)
        try Validate.range(budgetPoints, field: "campaign.budget_points", 0...Limits.budgetPointsMax)
    }

    /// Whether the campaign covers this order, ignoring its budget.
    public func applies(to order: OrderFacts, tierCode: String, eligibleMinor: Int64, localDate: LocalDate) -> Bool {
        guard !ended, order.paidAtMilliseconds >= startsAtMilliseconds, order.paidAtMilliseconds < endsAtMilliseconds else { return false }
        guard eligibleMinor >= minimumEligibleMinor, eligibleMinor > 0 else { return false }
        if weekdayMask != 0 && weekdayMask & (1 << UInt8(localDate.weekday)) == 0 { return false }
        if !dates.isEmpty && !dates.contains(localDate.daysSinceEpoch) { return false }
        if !merchantIds.isEmpty && !merchantIds.contains(order.merchantId) { return false }
        if !categories.isEmpty && !categories.contains(order.category) { return false }
        if !tierCodes.isEmpty && !tierCodes.contains(tierCode) { return false }
        return true
    }

    /// Extra points before budget: a multiplier adds (m − 1) × base, a bonus adds itself.
    public func award(basePoints: Int64) -> Int64 {
        if multiplierBasisPoints != 0 {
            return basePoints * Int64(multiplierBasisPoints - 10_000) / 10_000
        }
        return bonusPoints
    }
}
