/// One lot's part of a payment with points: the lot, whose points they were, and how many.
public struct SpendDraw: Sendable, Equatable {
    public var lotId: Int64
    public var funder: Funder
    public var points: Int64
    /// When the lot expires; nil never. A refund returns points to the lot only while it lives.
    public var lotExpiresAtMilliseconds: Int64?
    /// What refunds have given back to the member of this draw so far.
    public var returnedPoints: Int64

    public init(lotId: Int64, funder: Funder, points: Int64, lotExpiresAtMilliseconds: Int64?, returnedPoints: Int64 = 0) {
        precondition(points > 0 && returnedPoints >= 0 && returnedPoints <= points)
        self.lotId = lotId
        self.funder = funder
        self.points = points
        self.lotExpiresAtMilliseconds = lotExpiresAtMilliseconds
        self.returnedPoints = returnedPoints
    }
}

/// Points that pay part of one order: checked against the mall's policy and what the member can
/// spend, then drawn from lots by earliest expiry (`LotConsumption.spendingOrder`), so the draws
/// name the funders whose points paid.
public struct PointsSpend: Sendable, Equatable {
    public var payment: PointsPayment
    public var draws: [SpendDraw]

    /// `lots` are the member's lots as read under its lock; `debtPoints` and `heldByOthersPoints`
    /// (live holds other than the one this payment captures) are not spendable. The first check
    /// that fails refuses, and nothing is drawn.
    public static func plan(
        points: Int64, billMinor: Int64, policy: PointsPaymentPolicy, lots: [Lot], debtPoints: Int64, heldByOthersPoints: Int64,
        atMilliseconds now: Int64, field: String
    ) throws(DomainError) -> PointsSpend {
        precondition(heldByOthersPoints >= 0)
        let spendableLots = LotConsumption.spendable(lots, atMilliseconds: now)
        let unheld = try Arithmetic.add(try LotConsumption.spendablePoints(spendableLots, debtPoints: debtPoints, atMilliseconds: now), -heldByOthersPoints)
        let payment = try policy.pay(points: points, billMinor: billMinor, spendablePoints: max(0, unheld), field: field)
        let (draws, uncovered) = LotConsumption.draw(payment.points, from: spendableLots)
        precondition(uncovered == 0, "spendable points cover what the policy admitted")
        let byId = Dictionary(uniqueKeysWithValues: spendableLots.map { ($0.id, $0) })
        return PointsSpend(payment: payment, draws: draws.map { draw in
            guard let lot = byId[draw.lotId] else { preconditionFailure("a draw names a lot it was drawn from") }
            return SpendDraw(lotId: lot.id, funder: lot.funder, points: draw.points, lotExpiresAtMilliseconds: lot.expiresAtMilliseconds)
        })
    }

    /// The spent points per funder, in (kind, owner) order: the spend journal's explanation.
    public var pointsByFunder: [(funder: Funder, points: Int64)] {
        var sums: [Funder: Int64] = [:]
        for draw in draws { sums[draw.funder, default: 0] += draw.points }
        return sums.sorted { Settlement.order($0.key) < Settlement.order($1.key) }.map { ($0.key, $0.value) }
    }
}

/// What a refund gives back of the points that paid its order: the refunded part's share,
/// rounded as clawbacks are (`RefundMath`: after refunds totalling R of an order of A that spent
/// S, floor(S × R / A) in all, and S exactly once A is refunded). Each point goes back to the
/// lot it came from while that lot lives (its expiry after the refund's instant), latest-expiring
/// lots first; points whose lot has expired come back as a new lot of the same funder that lives
/// the mall's minimum validity. The funders paid for those points when they were issued, and they
/// stay theirs: only the merchant that was paid their redemption value pays it back.
public struct SpendReturnPlan: Sendable {
    /// Back into live lots.
    public var restores: [LotDraw]
    /// New lots, one per funder of expired lots.
    public var newLots: [(funder: Funder, points: Int64)]
    /// The new lots' expiry.
    public var newLotsExpireAtMilliseconds: Int64
    /// How much of each draw this refund returns (added to its `returnedPoints`).
    public var returnedByDraw: [LotDraw]

    public var points: Int64 { returnedByDraw.reduce(0) { $0 + $1.points } }

    /// The points this refund returns: the cumulative share after it less what earlier refunds returned.
    public static func points(spentPoints: Int64, returnedPoints: Int64, refundedBeforeMinor: Int64, refundMinor: Int64, orderAmountMinor: Int64) -> Int64 {
        RefundMath.clawback(
            earnedPoints: spentPoints, alreadyClawedPoints: returnedPoints, refundedBeforeMinor: refundedBeforeMinor, refundMinor: refundMinor,
            orderAmountMinor: orderAmountMinor)
    }

    public init(returning points: Int64, of draws: [SpendDraw], atMilliseconds now: Int64, minimumValidityDays: Int32) {
        precondition(points >= 0 && minimumValidityDays > 0)
        let open = draws.reduce(Int64(0)) { $0 + ($1.points - $1.returnedPoints) }
        precondition(points <= open, "a refund returns at most what its order spent and has not had back")
        newLotsExpireAtMilliseconds = now + Int64(minimumValidityDays) * 86_400_000
        restores = []
        returnedByDraw = []
        var expiredByFunder: [Funder: Int64] = [:]
        var left = points
        // Latest expiry first (never-expiring lots before all), then the later lot.
        let ordered = draws.sorted { a, b in
            let ea = a.lotExpiresAtMilliseconds ?? .max, eb = b.lotExpiresAtMilliseconds ?? .max
            return ea != eb ? ea > eb : a.lotId > b.lotId
        }
        for draw in ordered where left > 0 && draw.points > draw.returnedPoints {
            let take = min(draw.points - draw.returnedPoints, left)
            left -= take
            returnedByDraw.append(LotDraw(lotId: draw.lotId, points: take))
            if draw.lotExpiresAtMilliseconds.map({ $0 > now }) ?? true {
                restores.append(LotDraw(lotId: draw.lotId, points: take))
            } else {
                expiredByFunder[draw.funder, default: 0] += take
            }
        }
        newLots = expiredByFunder.sorted { Settlement.order($0.key) < Settlement.order($1.key) }.map { ($0.key, $0.value) }
        precondition(left == 0 && self.points == points, "every returned point has a place")
    }

}
