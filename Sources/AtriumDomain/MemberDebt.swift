/// What a member owes one funder: a refund under the allow-debt policy took back more than the
/// member's lots held, and that funder got back only what the lots covered. The member repays
/// from later earning, and each repaid point goes to the funder it is owed to, so settlement
/// charges every merchant for its own orders only and never for another's refund.
public struct MemberDebt: Sendable, Equatable {
    public var funder: Funder
    public var points: Int64

    public init(funder: Funder, points: Int64) {
        precondition(points >= 0, "a debt is never negative")
        self.funder = funder
        self.points = points
    }

    /// Repays `debts` (oldest first) from `points` newly earned: the oldest debt first, as far
    /// as the points go. Answers what each funder gets and the debts left (paid ones removed).
    public static func repay(_ debts: [MemberDebt], from points: Int64) -> (repaid: [MemberDebt], left: [MemberDebt]) {
        precondition(points >= 0)
        var available = points
        var repaid: [MemberDebt] = []
        var left: [MemberDebt] = []
        for debt in debts {
            let take = min(debt.points, available)
            available -= take
            if take > 0 { repaid.append(MemberDebt(funder: debt.funder, points: take)) }
            if debt.points > take { left.append(MemberDebt(funder: debt.funder, points: debt.points - take)) }
        }
        return (repaid, left)
    }

    /// The total of `debts`, checked: a member's debts stay within `Limits.memberLifetimePointsMax`.
    public static func total(_ debts: [MemberDebt]) throws(DomainError) -> Int64 {
        var sum: Int64 = 0
        for debt in debts { sum = try Arithmetic.add(sum, debt.points) }
        return sum
    }
}
