/// Why a request was refused as FAILED_PRECONDITION, for machines: clients branch on it (a till
/// asks for another payment, an app shows a message) instead of parsing the message. The
/// transport sends it as a `google.rpc.ErrorInfo` (domain `atrium.v1`) in the status details;
/// `proto/atrium/v1/common.proto` lists the same codes under the same numbers
/// (`PreconditionReason`), so clients can generate them.
public enum PreconditionReason: Int32, Sendable, CaseIterable {
    case merchantSuspended = 1
    case memberFrozen = 2
    /// The member would pass the points a member may earn in a lifetime.
    case memberLifetimePointsLimit = 3
    case orderFullyRefunded = 4
    /// A refund asks for more than the order has left to refund.
    case refundExceedsOrder = 5
    /// A total would leave the range of 64 bits or of its column.
    case totalOutOfRange = 6
    /// Stored rows break a ledger invariant; CheckLedger names them.
    case ledgerInconsistent = 7
    /// The merchant is already in the status asked for.
    case merchantStatusUnchanged = 8
    case platformKeysLimit = 9
    case lastActivePlatformKey = 10
    /// The database refused a value by a check constraint.
    case checkConstraint = 11
    /// A settlement period closes once it has ended.
    case periodNotEnded = 12
    /// A period must end after the last closed one.
    case periodBeforeLastClosed = 13
    /// Another close of the mall, with another period end, ran at the same moment.
    case concurrentClose = 14
    /// More rows than one answer may carry; page instead.
    case answerTooLarge = 15
    /// The mall lets no share of a bill be paid in points.
    case pointsPaymentOff = 16
    /// Fewer points than the mall's smallest payment.
    case pointsBelowMinimum = 17
    /// More points than the mall's share of this bill.
    case pointsAboveBillShare = 18
    /// The member cannot spend that many points (live, available lots less debt).
    case insufficientPoints = 19
    /// The hold was captured by a payment; only a refund gives its points back.
    case holdCaptured = 20
    case couponNotYetValid = 21
    case couponExpired = 22
    /// The coupon's merchants or categories do not include this one.
    case couponNotForMerchant = 23
    /// The eligible basket is below the coupon's minimum spend.
    case couponMinimumSpend = 24
    /// Spending needs the member present: a live QR token, or a hold.
    case memberNotPresent = 25
    /// The hold was released by its holder.
    case holdReleased = 26
    /// The hold's time ran out, which released it.
    case holdExpired = 27
    case couponUsed = 28
    /// The template's total quantity would be passed.
    case couponQuantityExhausted = 29
    /// A member would hold more of the template's coupons than it allows.
    case couponMemberLimit = 30
    /// Outside the reward's availability window.
    case rewardUnavailable = 31
    case rewardOutOfStock = 32
    /// The member holds as many of the reward as it allows.
    case rewardMemberLimit = 33
    /// The member redeemed the reward as often today as it allows.
    case rewardDailyLimit = 34
    /// The reward is for other tiers.
    case rewardTierRestricted = 35
    /// The redemption was fulfilled: it can no longer be cancelled.
    case redemptionFulfilled = 36
    /// The redemption was cancelled: it can no longer be fulfilled.
    case redemptionCancelled = 37
    /// Another till's hold reserves the coupon.
    case couponHeld = 38

    /// The code in `ErrorInfo.reason`: UPPER_SNAKE_CASE, as Google's API guidelines ask.
    public var code: String {
        var code = ""
        for character in String(describing: self) {
            if character.isUppercase { code.append("_") }
            code.append(character.uppercased())
        }
        return code
    }
}
