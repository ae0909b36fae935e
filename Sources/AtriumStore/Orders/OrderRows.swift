import AtriumDomain

/// One line of an order as submitted, with what has been refunded of it.
public struct OrderLineRow: Codable, Sendable, Equatable {
    public var sku: String
    public var category: String
    public var quantity: Int64
    public var amountMinor: Int64
    public var refundedQuantity: Int64

    public init(sku: String, category: String, quantity: Int64, amountMinor: Int64, refundedQuantity: Int64 = 0) {
        self.sku = sku
        self.category = category
        self.quantity = quantity
        self.amountMinor = amountMinor
        self.refundedQuantity = refundedQuantity
    }
}

/// An explanation line as stored with the order and its journal.
public struct StoredEarnLine: Codable, Sendable, Equatable {
    public var rule: String
    public var description: String
    public var points: Int64
    public var funder: String

    public init(_ line: EarnLine) {
        rule = line.ruleName
        description = line.description
        points = line.points
        funder = line.funder?.description ?? ""
    }

    public init(rule: String, description: String, points: Int64, funder: String) {
        self.rule = rule
        self.description = description
        self.points = points
        self.funder = funder
    }
}

/// What one funder paid into an order's award, and how much refunds have taken back.
public struct FundingShare: Codable, Sendable, Equatable {
    public var kind: Int16
    public var owner: Int64
    public var earned: Int64
    public var clawed: Int64

    public var funder: Funder { Funder(kind: kind, ownerId: owner) ?? .mall }
}

/// A submitted order as the merchant sends it, validated by the transport.
public struct OrderInput: Sendable {
    public var orderNumber: String
    public var storeId: String
    public var terminalId: String
    public var member: MemberStore.LookupKey
    public var amountMinor: Int64
    public var pointsPaidMinor: Int64
    public var couponPaidMinor: Int64
    public var lines: [OrderLineRow]
    /// nil: now.
    public var paidAtMilliseconds: Int64?
    /// Points that pay part of the bill (0: none, or the whole hold when `holdId` is set).
    public var pointsToSpend: Int64
    /// The hold the payment captures; 0: none.
    public var holdId: Int64
    /// Coupons the member gives, upper case (`CouponUse.plan`).
    public var couponCodes: [String]

    public init(
        orderNumber: String, storeId: String, terminalId: String, member: MemberStore.LookupKey, amountMinor: Int64, pointsPaidMinor: Int64,
        couponPaidMinor: Int64, lines: [OrderLineRow], paidAtMilliseconds: Int64?, pointsToSpend: Int64 = 0, holdId: Int64 = 0,
        couponCodes: [String] = []
    ) {
        self.pointsToSpend = pointsToSpend
        self.holdId = holdId
        self.couponCodes = couponCodes
        self.orderNumber = orderNumber
        self.storeId = storeId
        self.terminalId = terminalId
        self.member = member
        self.amountMinor = amountMinor
        self.pointsPaidMinor = pointsPaidMinor
        self.couponPaidMinor = couponPaidMinor
        self.lines = lines
        self.paidAtMilliseconds = paidAtMilliseconds
    }
}

extension OrderInput {
    /// Whether points pay part of the bill (`BatchSpending.payment`).
    var paysWithPoints: Bool { pointsToSpend > 0 || holdId != 0 }
    /// Whether points or coupons pay part of it.
    var spends: Bool { paysWithPoints || !couponCodes.isEmpty }
}

public struct RefundRow: Sendable, Equatable {
    public var refundId: String
    /// Its place among the order's refunds, from 1 (migration 11).
    public var sequence: Int32
    public var amountMinor: Int64
    public var clawedBackPoints: Int64
    public var shortfallPoints: Int64
    public var debtPoints: Int64
    /// Had expired before the refund: their funder already had them back, so the member lost nothing for them.
    public var expiredPoints: Int64
    public var createdAtMilliseconds: Int64
    /// Points that paid the refunded part, given back to the member (`SpendReturnPlan`).
    public var returnedPoints: Int64
    /// The order's coupons this refund gave back (the one completing a full refund).
    public var couponsRestored: Int32
}

public struct OrderRow: Sendable, Equatable {
    public var id: Int64
    public var orderNumber: String
    public var merchantId: Int64
    public var memberId: Int64
    public var memberCode: String
    public var storeId: String
    public var terminalId: String
    public var amountMinor: Int64
    public var pointsPaidMinor: Int64
    public var couponPaidMinor: Int64
    public var eligibleMinor: Int64
    public var lines: [OrderLineRow]
    public var paidAtMilliseconds: Int64
    public var breakdown: [StoredEarnLine]
    public var earnedPoints: Int64
    public var refundedMinor: Int64
    public var clawedBackPoints: Int64
    public var availableAtMilliseconds: Int64
    public var createdAtMilliseconds: Int64
    /// Points that paid `pointsPaidMinor`, and what refunds have given back of them.
    public var pointsSpent: Int64
    public var pointsReturned: Int64
    /// The coupons that paid part of the bill, as the order answered them.
    public var coupons: [CouponUse]
    public var refunds: [RefundRow]
}

extension OrderRow {
    /// The order as the refunds up to `sequence` left it: what a refund answered when it was
    /// recorded, and (with 0) what the order's submission answered. An order changes only by
    /// refunds, and each refund's share of the clawback is its covered, shortfall, debt and
    /// expired points (`ClawbackPlan`). The lines' refunded quantities, which no response
    /// carries, are known only before any refund.
    public func asOf(refundsThrough sequence: Int32) -> OrderRow {
        var order = self
        order.refunds = refunds.filter { $0.sequence <= sequence }
        order.refundedMinor = order.refunds.reduce(0) { $0 + $1.amountMinor }
        order.clawedBackPoints = order.refunds.reduce(0) { $0 + $1.clawedBackPoints + $1.shortfallPoints + $1.debtPoints + $1.expiredPoints }
        order.pointsReturned = order.refunds.reduce(0) { $0 + $1.returnedPoints }
        if sequence == 0 { for index in order.lines.indices { order.lines[index].refundedQuantity = 0 } }
        return order
    }
}

/// What a quote returns: the breakdown and who it is for.
public struct OrderQuote: Sendable {
    public var breakdown: EarnBreakdown
    public var memberId: Int64
    public var tierCode: String
}

public enum OrderTarget: Sendable {
    case id(Int64)
    case number(String)
}
