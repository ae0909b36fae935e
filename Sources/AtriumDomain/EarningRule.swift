/// How an order's eligible amount turns into base points: `pointsPerStep` points for every whole
/// `stepAmountMinor` (floor), e.g. 1 point per ¥10 is (1, 1000) in fen.
public struct EarningRule: Sendable, Equatable {
    public var pointsPerStep: Int64
    public var stepAmountMinor: Int64
    public var minimumOrderMinor: Int64
    /// 0: no cap.
    public var perOrderCapPoints: Int64
    /// 0: no cap. Counts what the member earned at the same merchant that mall-local day.
    public var perMemberDailyCapPoints: Int64

    public init(pointsPerStep: Int64, stepAmountMinor: Int64, minimumOrderMinor: Int64 = 0, perOrderCapPoints: Int64 = 0, perMemberDailyCapPoints: Int64 = 0) {
        self.pointsPerStep = pointsPerStep
        self.stepAmountMinor = stepAmountMinor
        self.minimumOrderMinor = minimumOrderMinor
        self.perOrderCapPoints = perOrderCapPoints
        self.perMemberDailyCapPoints = perMemberDailyCapPoints
    }

    public func validate(field: String = "rule") throws(DomainError) {
        try Validate.range(pointsPerStep, field: "\(field).points_per_step", 0...Limits.pointsPerStepMax)
        try Validate.range(stepAmountMinor, field: "\(field).step_amount_minor", 1...Limits.stepAmountMinorMax)
        try Validate.range(minimumOrderMinor, field: "\(field).minimum_order_minor", 0...Limits.orderAmountMinorMax)
        try Validate.range(perOrderCapPoints, field: "\(field).per_order_cap_points", 0...Limits.budgetPointsMax)
        try Validate.range(perMemberDailyCapPoints, field: "\(field).per_member_daily_cap_points", 0...Limits.budgetPointsMax)
    }

    /// Base points for an eligible amount. Cannot overflow within the limits:
    /// 10^12 / 1 × 10^6 = 10^18 < Int64.max.
    public func basePoints(eligibleMinor: Int64) -> Int64 {
        precondition(eligibleMinor >= 0 && eligibleMinor <= Limits.orderAmountMinorMax)
        guard eligibleMinor >= minimumOrderMinor else { return 0 }
        return (eligibleMinor / stepAmountMinor) * pointsPerStep
    }
}

/// Who pays for points: every lot has exactly one funder.
public enum Funder: Hashable, Sendable, CustomStringConvertible {
    case mall
    case merchant(Int64)
    case partner(Int64)

    public var kind: Int16 {
        switch self {
        case .mall: 1
        case .merchant: 2
        case .partner: 3
        }
    }

    public var ownerId: Int64 {
        switch self {
        case .mall: 0
        case .merchant(let id), .partner(let id): id
        }
    }

    public init?(kind: Int16, ownerId: Int64) {
        switch kind {
        case 1: self = .mall
        case 2: self = .merchant(ownerId)
        case 3: self = .partner(ownerId)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .mall: "mall"
        case .merchant(let id): "merchant:\(id)"
        case .partner(let id): "partner:\(id)"
        }
    }
}

/// A rung of the mall's tier table.
public struct Tier: Sendable, Equatable {
    public var code: String
    public var name: String
    public var rank: Int32
    /// 10_000 = 1×.
    public var multiplierBasisPoints: Int32

    public init(code: String, name: String, rank: Int32, multiplierBasisPoints: Int32) {
        self.code = code
        self.name = name
        self.rank = rank
        self.multiplierBasisPoints = multiplierBasisPoints
    }

    public func validate() throws(DomainError) {
        try Validate.code(code, field: "tier.code", max: 20, lowercaseOnly: true)
        try Validate.text(name, field: "tier.name", min: 1, max: 50)
        try Validate.range(rank, field: "tier.rank", 0...100)
        try Validate.range(multiplierBasisPoints, field: "tier.multiplier_basis_points", Limits.multiplierBasisPointsMin...Limits.multiplierBasisPointsMax)
    }

    /// The tier of members nobody has placed elsewhere.
    public static let defaultCode = "normal"
}
