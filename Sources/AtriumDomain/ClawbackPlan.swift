/// Where the points a refund claws back come from, funder by funder.
///
/// Each funder's share (`RefundMath`) is taken first from what remains of the refunded order's
/// own lots of that funder (pending ones included), then counted against what expired of them:
/// the funder had those back at expiry, and taking them from the member again would return them
/// twice. Then from the member's other live lots in spending order; what is still missing becomes
/// debt or a recorded shortfall. Either way a funder gets back now only what lots covered; under
/// `allowDebt` the rest is a debt the member owes that funder (`MemberDebt`), which it gets as the
/// member repays from later earning, and under `stopAtZero` it is the funder's loss.
public struct ClawbackPlan: Sendable {
    /// Taken from lots' remaining points.
    public var draws: [LotDraw]
    /// Counted against the order's lots' expired points (`Lot.expiredPoints`).
    public var expiredDraws: [LotDraw]
    /// What each funder gets back now.
    public var returnedByFunder: [(funder: Funder, points: Int64)]
    /// What the member comes to owe each funder (`allowDebt` only); sums to `debtPoints`.
    public var debtByFunder: [MemberDebt]
    /// Taken from lots.
    public var coveredPoints: Int64
    public var debtPoints: Int64
    public var shortfallPoints: Int64
    /// Expired before the refund: the funder had them back then, the member loses nothing for them.
    public var expiredPoints: Int64 { expiredDraws.reduce(0) { $0 + $1.points } }
    /// The member account's decrease: covered plus new debt.
    public var memberPoints: Int64 { coveredPoints + debtPoints }

    public init(
        draws: [LotDraw], expiredDraws: [LotDraw], returnedByFunder: [(funder: Funder, points: Int64)], debtByFunder: [MemberDebt] = [],
        coveredPoints: Int64, debtPoints: Int64, shortfallPoints: Int64
    ) {
        self.draws = draws
        self.expiredDraws = expiredDraws
        self.returnedByFunder = returnedByFunder
        self.debtByFunder = debtByFunder
        self.coveredPoints = coveredPoints
        self.debtPoints = debtPoints
        self.shortfallPoints = shortfallPoints
    }

    /// `deltas`: what each funder is owed back; `lots`: the order's own lots (live or with
    /// expired points) and the member's other live lots not yet expired.
    public init(wanted deltas: [(funder: Funder, points: Int64)], orderId: Int64, lots: [Lot], policy: RefundShortfallPolicy) {
        let wanted = deltas.reduce(0) { $0 + $1.points }
        var own = lots.filter { $0.orderId == orderId }
        let others = lots.filter { $0.orderId != orderId }
        var draws: [LotDraw] = []
        var expiredDraws: [LotDraw] = []
        var covered: [Funder: Int64] = [:]
        var expired: [Funder: Int64] = [:]
        var missing: Int64 = 0
        for delta in deltas {
            let (ownDraws, uncovered) = LotConsumption.draw(delta.points, from: own.filter { $0.funder == delta.funder })
            let (counted, stillUncovered) = LotConsumption.draw(uncovered, from: own.filter { $0.funder == delta.funder }, taking: \.expiredPoints)
            Self.take(ownDraws, from: &own, \.remainingPoints)
            Self.take(counted, from: &own, \.expiredPoints)
            draws += ownDraws
            expiredDraws += counted
            covered[delta.funder] = delta.points - uncovered
            expired[delta.funder] = uncovered - stillUncovered
            missing += stillUncovered
        }
        let (otherDraws, stillMissing) = LotConsumption.draw(missing, from: others)
        draws += otherDraws
        var fromOthers = missing - stillMissing
        let expiredTotal = expired.values.reduce(0, +)
        let coveredTotal = wanted - expiredTotal - stillMissing
        var returned: [(funder: Funder, points: Int64)] = []
        var owed: [MemberDebt] = []
        for delta in deltas {
            let fromOwn = covered[delta.funder] ?? 0, gone = expired[delta.funder] ?? 0
            // Points drawn from the member's other lots go to the funders in the order of the deltas.
            let extra = min(delta.points - fromOwn - gone, fromOthers)
            fromOthers -= extra
            let back = fromOwn + extra
            if back > 0 { returned.append((delta.funder, back)) }
            let missing = delta.points - gone - back
            if policy == .allowDebt && missing > 0 { owed.append(MemberDebt(funder: delta.funder, points: missing)) }
        }
        let debt = policy == .allowDebt ? stillMissing : 0
        self.init(
            draws: draws, expiredDraws: expiredDraws, returnedByFunder: returned, debtByFunder: owed, coveredPoints: coveredTotal, debtPoints: debt,
            shortfallPoints: policy == .stopAtZero ? stillMissing : 0)
        precondition(returnedByFunder.reduce(0) { $0 + $1.points } == coveredPoints, "funders get back now exactly what lots covered")
        precondition(debtByFunder.reduce(0) { $0 + $1.points } == debtPoints, "the debt is owed to the funders that did not get it back")
        precondition(coveredPoints + debtPoints + shortfallPoints + expiredPoints == wanted, "the refund accounts for every point it claws back")
    }

    /// Lowers `lots` by `draws`, so a later funder's share does not draw the same points again.
    private static func take(_ draws: [LotDraw], from lots: inout [Lot], _ amount: WritableKeyPath<Lot, Int64>) {
        for draw in draws {
            guard let index = lots.firstIndex(where: { $0.id == draw.lotId }) else { continue }
            lots[index][keyPath: amount] -= draw.points
        }
    }
}
