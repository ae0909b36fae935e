/// When points lapse. Computed for each lot as it is earned.
public enum ExpiryPolicy: Sendable, Equatable {
    case never
    case daysAfterEarning(Int32)
    /// Earned in year Y, expires when year Y+2 begins (the end of Y+1), mall time.
    case endOfNextYear
    /// Expires when the month `months` after the earning month ends, mall time.
    case endOfMonthAfterMonths(Int32)

    /// The instant a lot earned at `earnedAtMilliseconds` expires, or nil for never.
    public func expiresAt(earnedAtMilliseconds: Int64, clock: MallClockReading) -> Int64? {
        switch self {
        case .never:
            return nil
        case .daysAfterEarning(let days):
            return earnedAtMilliseconds + Int64(days) * 86_400_000
        case .endOfNextYear:
            let earned = clock.localDate(atMilliseconds: earnedAtMilliseconds)
            return clock.startOfDayMilliseconds(LocalDate(year: earned.year + 2, month: 1, day: 1)!)
        case .endOfMonthAfterMonths(let months):
            let end = clock.localDate(atMilliseconds: earnedAtMilliseconds).endOfMonth(afterMonths: Int(months))
            return clock.startOfDayMilliseconds(LocalDate(daysSinceEpoch: end.daysSinceEpoch + 1))
        }
    }

    public var kind: Int16 {
        switch self {
        case .never: 1
        case .daysAfterEarning: 2
        case .endOfNextYear: 3
        case .endOfMonthAfterMonths: 4
        }
    }

    public var parameter: Int32 {
        switch self {
        case .never, .endOfNextYear: 0
        case .daysAfterEarning(let days): days
        case .endOfMonthAfterMonths(let months): months
        }
    }

    public static func from(kind: Int16, parameter: Int32, field: String = "settings.expiry_policy") throws(DomainError) -> ExpiryPolicy {
        switch kind {
        case 0, 1: return .never
        case 2:
            try Validate.range(parameter, field: "settings.expiry_parameter", 1...Limits.expiryDaysMax)
            return .daysAfterEarning(parameter)
        case 3: return .endOfNextYear
        case 4:
            try Validate.range(parameter, field: "settings.expiry_parameter", 0...Limits.expiryMonthsMax)
            return .endOfMonthAfterMonths(parameter)
        default: throw .invalid(field, "is not a known policy")
        }
    }
}

/// What a refund does when the member has already spent the points it claws back.
public enum RefundShortfallPolicy: Int16, Sendable {
    case allowDebt = 1
    case stopAtZero = 2
}

/// A mall's programme settings.
public struct MallSettings: Sendable, Equatable {
    public var name: String
    public var currencyCode: String
    public var timeZone: String
    public var redeemPoints: Int64
    public var redeemValueMinor: Int64
    public var issuePoints: Int64
    public var issueValueMinor: Int64
    public var expiryPolicy: ExpiryPolicy
    public var refundShortfallPolicy: RefundShortfallPolicy
    /// The mall's breakage rule: the part of expired points' issuance value the mall keeps, in
    /// basis points; the rest is owed back to the points' funder at settlement.
    public var breakageMallShareBasisPoints: Int32
    /// The largest share of a bill points may pay, in basis points; 0 (the default): none.
    public var pointsPaymentMaxShareBasisPoints: Int32
    /// The fewest points one payment may use, in whole steps of `redeemPoints`; 0: one step.
    public var pointsPaymentMinimumPoints: Int64
    /// How long points a refund gives back live when their own lot has expired (`SpendReturnPlan`).
    public var returnedPointsValidityDays: Int32

    public init(
        name: String, currencyCode: String, timeZone: String, redeemPoints: Int64, redeemValueMinor: Int64,
        issuePoints: Int64, issueValueMinor: Int64, expiryPolicy: ExpiryPolicy, refundShortfallPolicy: RefundShortfallPolicy,
        breakageMallShareBasisPoints: Int32 = 0, pointsPaymentMaxShareBasisPoints: Int32 = 0, pointsPaymentMinimumPoints: Int64 = 0,
        returnedPointsValidityDays: Int32 = 30
    ) {
        self.name = name
        self.currencyCode = currencyCode
        self.timeZone = timeZone
        self.redeemPoints = redeemPoints
        self.redeemValueMinor = redeemValueMinor
        self.issuePoints = issuePoints
        self.issueValueMinor = issueValueMinor
        self.expiryPolicy = expiryPolicy
        self.refundShortfallPolicy = refundShortfallPolicy
        self.breakageMallShareBasisPoints = breakageMallShareBasisPoints
        self.pointsPaymentMaxShareBasisPoints = pointsPaymentMaxShareBasisPoints
        self.pointsPaymentMinimumPoints = pointsPaymentMinimumPoints
        self.returnedPointsValidityDays = returnedPointsValidityDays
    }

    /// Points as payment at checkout, in steps of the mall's point value.
    public var pointsPayment: PointsPaymentPolicy {
        PointsPaymentPolicy(
            stepPoints: redeemPoints, stepValueMinor: redeemValueMinor, maxShareBasisPoints: pointsPaymentMaxShareBasisPoints,
            minimumPoints: pointsPaymentMinimumPoints)
    }

    /// `isKnownTimeZone` is injected so the domain stays free of the tz database.
    public func validate(isKnownTimeZone: (String) -> Bool) throws(DomainError) {
        try Validate.text(name, field: "settings.name", min: 1, max: Limits.nameLengthMax)
        try Currency.validate(currencyCode, field: "settings.currency_code")
        guard !timeZone.isEmpty, timeZone.utf8.count <= 64, isKnownTimeZone(timeZone) else {
            throw .invalid("settings.time_zone", "must be an IANA time zone such as Asia/Shanghai")
        }
        try Validate.range(redeemPoints, field: "settings.redeem_points", 1...Limits.redeemPointsMax)
        try Validate.range(redeemValueMinor, field: "settings.redeem_value_minor", 1...Limits.redeemValueMinorMax)
        try Validate.range(issuePoints, field: "settings.issue_points", 1...Limits.redeemPointsMax)
        try Validate.range(issueValueMinor, field: "settings.issue_value_minor", 1...Limits.redeemValueMinorMax)
        try Validate.range(breakageMallShareBasisPoints, field: "settings.breakage_mall_share_basis_points", 0...10_000)
        try Validate.range(pointsPaymentMaxShareBasisPoints, field: "settings.points_payment_max_share_basis_points", 0...10_000)
        try Validate.range(pointsPaymentMinimumPoints, field: "settings.points_payment_minimum_points", 0...Limits.orderPointsMax)
        try Validate.range(returnedPointsValidityDays, field: "settings.returned_points_validity_days", 1...Limits.expiryDaysMax)
        guard pointsPaymentMinimumPoints % redeemPoints == 0 else {
            throw .invalid("settings.points_payment_minimum_points", "must be whole steps of redeem_points (\(redeemPoints))")
        }
    }
}
