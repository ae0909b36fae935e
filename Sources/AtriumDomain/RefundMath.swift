/// Proportional clawback on refunds.
///
/// Rounding: after refunds totalling R of an order of amount A that earned E points from a
/// funder, the clawback from that funder so far is floor(E × R / A). Each refund claws back the
/// difference from what earlier refunds took, so any sequence of partial refunds that adds up to
/// the whole order claws back exactly E, and no refund takes more than its share.
public enum RefundMath {
    public static func cumulativeClawback(earnedPoints: Int64, refundedMinor: Int64, orderAmountMinor: Int64) -> Int64 {
        precondition(orderAmountMinor > 0 && refundedMinor >= 0 && refundedMinor <= orderAmountMinor && earnedPoints >= 0)
        if refundedMinor == orderAmountMinor { return earnedPoints }
        return Arithmetic.multiplyDivide(earnedPoints, refundedMinor, orderAmountMinor)
    }

    /// Points this refund claws back from one funder.
    public static func clawback(earnedPoints: Int64, alreadyClawedPoints: Int64, refundedBeforeMinor: Int64, refundMinor: Int64, orderAmountMinor: Int64) -> Int64 {
        let target = cumulativeClawback(earnedPoints: earnedPoints, refundedMinor: refundedBeforeMinor + refundMinor, orderAmountMinor: orderAmountMinor)
        let delta = target - alreadyClawedPoints
        precondition(delta >= 0, "cumulative clawback never decreases")
        return delta
    }

    /// The amount of a refund by lines: each line's amount in proportion to the quantity refunded,
    /// with the last unit of a line taking what rounding left, so refunding every unit refunds the
    /// whole line.
    public static func lineRefundMinor(lineAmountMinor: Int64, lineQuantity: Int64, refundedQuantityBefore: Int64, refundQuantity: Int64) -> Int64 {
        precondition(lineQuantity > 0 && refundedQuantityBefore + refundQuantity <= lineQuantity)
        let after = Arithmetic.multiplyDivide(lineAmountMinor, refundedQuantityBefore + refundQuantity, lineQuantity)
        let before = Arithmetic.multiplyDivide(lineAmountMinor, refundedQuantityBefore, lineQuantity)
        return after - before
    }
}
