/// A batch of points earned together, with its own expiry and funder.
public struct Lot: Sendable, Equatable {
    public var id: Int64
    public var amountPoints: Int64
    public var remainingPoints: Int64
    public var earnedAtMilliseconds: Int64
    public var availableAtMilliseconds: Int64
    /// nil: never expires.
    public var expiresAtMilliseconds: Int64?
    public var funder: Funder
    public var orderId: Int64?
    /// What expiry took from the lot and the funder has had back, less what refunds of its order
    /// have since counted against it (a refund's clawback plan).
    public var expiredPoints: Int64

    public init(
        id: Int64, amountPoints: Int64, remainingPoints: Int64, earnedAtMilliseconds: Int64, availableAtMilliseconds: Int64, expiresAtMilliseconds: Int64?,
        funder: Funder, orderId: Int64? = nil, expiredPoints: Int64 = 0
    ) {
        self.id = id
        self.amountPoints = amountPoints
        self.remainingPoints = remainingPoints
        self.earnedAtMilliseconds = earnedAtMilliseconds
        self.availableAtMilliseconds = availableAtMilliseconds
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.funder = funder
        self.orderId = orderId
        self.expiredPoints = expiredPoints
    }

    /// 0 ≤ remaining, 0 ≤ expired, remaining + expired ≤ amount, and live or expired, never both
    /// (expiry takes all that remains; nothing refills a lot). As `lots_expired_points_check`.
    public var isConsistent: Bool {
        remainingPoints >= 0 && expiredPoints >= 0 && remainingPoints + expiredPoints <= amountPoints && (remainingPoints == 0 || expiredPoints == 0)
    }
}

/// Which lots a deduction takes from, and how much from each.
public struct LotDraw: Sendable, Equatable {
    public var lotId: Int64
    public var points: Int64
    public init(lotId: Int64, points: Int64) {
        self.lotId = lotId
        self.points = points
    }
}

public enum LotConsumption {
    /// The spending order: earliest expiry first (never-expiring last), then oldest, then id.
    public static func spendingOrder(_ a: Lot, _ b: Lot) -> Bool {
        let ea = a.expiresAtMilliseconds ?? .max, eb = b.expiresAtMilliseconds ?? .max
        if ea != eb { return ea < eb }
        if a.earnedAtMilliseconds != b.earnedAtMilliseconds { return a.earnedAtMilliseconds < b.earnedAtMilliseconds }
        return a.id < b.id
    }

    /// Takes up to `points` from `lots` in spending order. Returns the draws and what could not be
    /// covered. Lots with nothing remaining are skipped. `from` says which of a lot's amounts is
    /// drawn: what remains (spending, clawback) or what expired (a refund counting expired points
    /// against its clawback).
    public static func draw(_ points: Int64, from lots: [Lot], taking amount: KeyPath<Lot, Int64> = \.remainingPoints) -> (draws: [LotDraw], uncoveredPoints: Int64) {
        precondition(points >= 0)
        var left = points
        var draws: [LotDraw] = []
        for lot in lots.sorted(by: spendingOrder) where left > 0 && lot[keyPath: amount] > 0 {
            let take = min(lot[keyPath: amount], left)
            draws.append(LotDraw(lotId: lot.id, points: take))
            left -= take
        }
        return (draws, left)
    }
}
