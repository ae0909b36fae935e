/// Who may earn, and how much one order may add: the checks around `EarningEngine.evaluate`, in
/// their order of precedence. Pure, so the store only asks and the limits are tested here.
public enum EarningAdmission {
    /// Before evaluation: a suspended merchant issues nothing and a frozen member earns nothing.
    public static func admit(merchantId: Int64, merchantActive: Bool, memberCode: String, memberFrozen: Bool) -> DomainError? {
        guard merchantActive else { return .failedPrecondition(.merchantSuspended, "merchant \(merchantId) is suspended") }
        guard !memberFrozen else { return .failedPrecondition(.memberFrozen, "member \(memberCode) is frozen") }
        return nil
    }

    /// After evaluation: at most `Limits.orderPointsMax` points an order (more is a set-up
    /// mistake, refused as input) and `Limits.memberLifetimePointsMax` a member, so no sum over a
    /// member's points can overflow.
    public static func admit(points: Int64, lifetimeEarnedPoints: Int64, memberCode: String) -> DomainError? {
        precondition(points >= 0 && lifetimeEarnedPoints >= 0, "earned points are never negative")
        guard points <= Limits.orderPointsMax else {
            return .invalid("order.amount_minor", "earns more than the \(Limits.orderPointsMax) points one order may earn (Limits.orderPointsMax)")
        }
        // A difference, not a sum: it cannot overflow, even for a stored total past the limit.
        guard points <= Limits.memberLifetimePointsMax - lifetimeEarnedPoints else {
            return .failedPrecondition(
                .memberLifetimePointsLimit, "member \(memberCode) would pass the \(Limits.memberLifetimePointsMax) points a member may earn")
        }
        return nil
    }
}
