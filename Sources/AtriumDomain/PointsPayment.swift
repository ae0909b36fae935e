/// Points as payment at checkout, under the mall's rules: points pay in whole steps of the mall's
/// point value (`redeem_points` points pay `redeem_value_minor`), at most a share of the bill, and
/// at least a minimum when they pay at all. The points part of a bill earns no points.
public struct PointsPaymentPolicy: Sendable, Equatable {
    /// Points of one step, and the money one step pays.
    public var stepPoints: Int64
    public var stepValueMinor: Int64
    /// The largest share of a bill points may pay, in basis points; 0: points do not pay here.
    public var maxShareBasisPoints: Int32
    /// The fewest points one payment may use; 0: one step.
    public var minimumPoints: Int64

    public init(stepPoints: Int64, stepValueMinor: Int64, maxShareBasisPoints: Int32, minimumPoints: Int64) {
        precondition(stepPoints > 0 && stepValueMinor > 0 && (0...10_000).contains(maxShareBasisPoints) && minimumPoints >= 0)
        self.stepPoints = stepPoints
        self.stepValueMinor = stepValueMinor
        self.maxShareBasisPoints = maxShareBasisPoints
        self.minimumPoints = minimumPoints
    }

    /// The most points that may pay `billMinor`: whole steps worth at most the bill's share.
    public func maximumPoints(billMinor: Int64) -> Int64 {
        precondition(billMinor >= 0)
        let payableMinor = Arithmetic.multiplyDivide(billMinor, Int64(maxShareBasisPoints), 10_000)
        let steps = payableMinor / stepValueMinor
        let (points, overflow) = steps.multipliedReportingOverflow(by: stepPoints)
        return overflow ? Int64.max / stepPoints * stepPoints : points
    }

    /// What `points` pay of a bill of `billMinor` for a member who can spend `spendablePoints`
    /// (live, available lots less debt): one chain of checks, the first that fails refuses.
    /// `field` names the request field that asked for the points.
    public func pay(points: Int64, billMinor: Int64, spendablePoints: Int64, field: String) throws(DomainError) -> PointsPayment {
        try checkAmount(points, field: field)
        let maximum = maximumPoints(billMinor: billMinor)
        guard points <= maximum else {
            throw .failedPrecondition(.pointsAboveBillShare, "at most \(maximum) points may pay this bill (\(maxShareBasisPoints) basis points of it)")
        }
        try checkSpendable(points, spendablePoints)
        // Exact: `points` is a whole number of steps, and at most the bill's share in value.
        let valueMinor = Arithmetic.multiplyDivide(points / stepPoints, stepValueMinor, 1)
        precondition(valueMinor <= billMinor, "points never pay more than the bill")
        return PointsPayment(points: points, valueMinor: valueMinor)
    }

    /// Whether `points` may be held for a payment to come, before the bill is known: the same
    /// checks as `pay` but the bill's share, which the payment that captures the hold meets.
    public func reserve(points: Int64, spendablePoints: Int64, field: String) throws(DomainError) {
        try checkAmount(points, field: field)
        try checkSpendable(points, spendablePoints)
    }

    private func checkAmount(_ points: Int64, field: String) throws(DomainError) {
        guard points > 0 else { throw .invalid(field, "must be positive") }
        guard maxShareBasisPoints > 0 else { throw .failedPrecondition(.pointsPaymentOff, "points do not pay at this mall") }
        guard points % stepPoints == 0 else { throw .invalid(field, "must be whole steps of \(stepPoints) points") }
        guard points >= max(minimumPoints, stepPoints) else {
            throw .failedPrecondition(.pointsBelowMinimum, "at least \(max(minimumPoints, stepPoints)) points pay at once")
        }
    }

    private func checkSpendable(_ points: Int64, _ spendablePoints: Int64) throws(DomainError) {
        guard points <= spendablePoints else {
            throw .failedPrecondition(.insufficientPoints, "the member can spend \(max(spendablePoints, 0)) points")
        }
    }
}

/// Points that pay part of a bill, and the money they pay.
public struct PointsPayment: Sendable, Equatable {
    public var points: Int64
    public var valueMinor: Int64

    public init(points: Int64, valueMinor: Int64) {
        self.points = points
        self.valueMinor = valueMinor
    }
}

extension LotConsumption {
    /// The lots spending may take from at `nowMilliseconds`: available (their pending window
    /// over at that instant) and not expired (a lot expires at its expiry instant exactly).
    public static func spendable(_ lots: [Lot], atMilliseconds now: Int64) -> [Lot] {
        lots.filter { $0.remainingPoints > 0 && $0.availableAtMilliseconds <= now && ($0.expiresAtMilliseconds.map { $0 > now } ?? true) }
    }

    /// The points a member can spend at `nowMilliseconds`: what its spendable lots hold, less its
    /// refund debt; never negative.
    public static func spendablePoints(_ lots: [Lot], debtPoints: Int64, atMilliseconds now: Int64) throws(DomainError) -> Int64 {
        precondition(debtPoints >= 0)
        var total: Int64 = 0
        for lot in spendable(lots, atMilliseconds: now) { total = try Arithmetic.add(total, lot.remainingPoints) }
        return max(0, total - debtPoints)
    }
}
