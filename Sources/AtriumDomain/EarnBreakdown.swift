/// One line of an award's explanation.
public struct EarnLine: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// The merchant's (or its category's) rule on the eligible amount.
        case base(pointsPerStep: Int64, stepAmountMinor: Int64, eligibleMinor: Int64, source: RuleSource)
        /// Nothing earned by the base rule, with why.
        case noBase(NoBaseReason)
        case tier(code: String, multiplierBasisPoints: Int32)
        case campaign(id: Int64, name: String, budgetLimited: Bool)
        /// A cap reduced the lines above by `reducedPoints`; carries 0 points itself.
        case cap(kind: CapKind, capPoints: Int64, reducedPoints: Int64)
    }

    public enum RuleSource: Sendable, Equatable { case merchant, category }
    public enum NoBaseReason: Sendable, Equatable { case noRule, belowMinimum(minimumOrderMinor: Int64), nothingEligible }
    public enum CapKind: Sendable, Equatable { case perOrder, perMemberDaily }

    public var rule: Rule
    public var points: Int64
    public var funder: Funder?

    public init(rule: Rule, points: Int64, funder: Funder?) {
        self.rule = rule
        self.points = points
        self.funder = funder
    }

    /// Short machine-readable name: "base", "tier", "campaign:12", "cap".
    public var ruleName: String {
        switch rule {
        case .base, .noBase: "base"
        case .tier: "tier"
        case .campaign(let id, _, _): "campaign:\(id)"
        case .cap: "cap"
        }
    }

    /// Built only when shown, to keep evaluation free of string work.
    public var description: String {
        switch rule {
        case .base(let perStep, let step, let eligible, let source):
            let whose = source == .merchant ? "merchant rule" : "category default"
            return "\(perStep) point(s) per \(step) minor units of \(eligible) eligible (\(whose))"
        case .noBase(.noRule): return "no earning rule for this merchant or its category"
        case .noBase(.belowMinimum(let minimum)): return "below the minimum order of \(minimum) minor units"
        case .noBase(.nothingEligible): return "nothing eligible: the bill was paid with points or coupons"
        case .tier(let code, let bp): return "tier \(code) multiplier \(Double(bp) / 10_000)×"
        case .campaign(_, let name, let limited): return limited ? "\(name) (limited by its remaining budget)" : name
        case .cap(.perOrder, let cap, let reduced): return "per-order cap of \(cap) points removed \(reduced)"
        case .cap(.perMemberDaily, let cap, let reduced): return "daily cap of \(cap) points at this merchant removed \(reduced)"
        }
    }
}

/// The result of evaluating an order: lines that sum to the total.
public struct EarnBreakdown: Sendable, Equatable {
    public var lines: [EarnLine]
    public var eligibleMinor: Int64

    public init(lines: [EarnLine], eligibleMinor: Int64) {
        self.lines = lines
        self.eligibleMinor = eligibleMinor
    }

    /// Saturating, so an absurd order reports a huge total (refused by the caller) rather than trap.
    public var totalPoints: Int64 { lines.reduce(0) { Arithmetic.addSaturating($0, $1.points) } }

    /// Points per funder, for lots and postings, in a stable order (line order).
    public var pointsByFunder: [(funder: Funder, points: Int64)] {
        var result: [(funder: Funder, points: Int64)] = []
        for line in lines where line.points > 0 {
            guard let funder = line.funder else { continue }
            if let i = result.firstIndex(where: { $0.funder == funder }) {
                result[i].points += line.points
            } else {
                result.append((funder, line.points))
            }
        }
        return result
    }

    /// What each campaign spends from its budget.
    public var campaignSpend: [(campaignId: Int64, points: Int64)] {
        lines.compactMap { line in
            if case .campaign(let id, _, _) = line.rule, line.points > 0 { return (id, line.points) }
            return nil
        }
    }
}
