/// What the earning rules look at in an order. Built from a validated request.
public struct OrderFacts: Sendable, Equatable {
    public var merchantId: Int64
    public var category: MerchantCategory
    public var amountMinor: Int64
    public var pointsPaidMinor: Int64
    public var couponPaidMinor: Int64
    public var paidAtMilliseconds: Int64

    public init(merchantId: Int64, category: MerchantCategory, amountMinor: Int64, pointsPaidMinor: Int64 = 0, couponPaidMinor: Int64 = 0, paidAtMilliseconds: Int64) {
        self.merchantId = merchantId
        self.category = category
        self.amountMinor = amountMinor
        self.pointsPaidMinor = pointsPaidMinor
        self.couponPaidMinor = couponPaidMinor
        self.paidAtMilliseconds = paidAtMilliseconds
    }

    /// The part of the bill that earns: what was not paid with points or coupons.
    public var eligibleMinor: Int64 { amountMinor - pointsPaidMinor - couponPaidMinor }
}

/// What the earning rules look at in the member.
public struct MemberFacts: Sendable, Equatable {
    public var tierCode: String
    public var tierMultiplierBasisPoints: Int32
    /// Points this member already earned at this merchant on the order's mall-local day.
    public var earnedTodayAtMerchantPoints: Int64

    public init(tierCode: String, tierMultiplierBasisPoints: Int32 = 10_000, earnedTodayAtMerchantPoints: Int64 = 0) {
        self.tierCode = tierCode
        self.tierMultiplierBasisPoints = tierMultiplierBasisPoints
        self.earnedTodayAtMerchantPoints = earnedTodayAtMerchantPoints
    }
}
