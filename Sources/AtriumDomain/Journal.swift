/// The ledger's accounts. A member account holds the member's points; a funder account is the
/// party's clearing account with the mall, in points: it goes down by what the party issues and
/// up by what it has back (clawed back, expired, repaid) and by what members pay with points at
/// its checkout (`Journal.spend`), for which the mall owes it their redemption value; a member's debt account holds
/// what the member owes back to funders after a refund took more than the member had
/// (`member_debts` says to whom).
public enum LedgerAccount: Hashable, Sendable {
    case member(Int64)
    case funder(Funder)
    case memberDebt(Int64)

    /// 0 member, 1–3 the funder kinds, 4 member debt.
    public var kind: Int16 {
        switch self {
        case .member: 0
        case .funder(let funder): funder.kind
        case .memberDebt: 4
        }
    }

    public var ownerId: Int64 {
        switch self {
        case .member(let id), .memberDebt(let id): id
        case .funder(let funder): funder.ownerId
        }
    }
}

public struct Posting: Sendable, Equatable {
    public var account: LedgerAccount
    public var points: Int64
    public init(account: LedgerAccount, points: Int64) {
        self.account = account
        self.points = points
    }
}

public enum JournalKind: Int16, Sendable {
    case earn = 1
    case refund = 2
    case adjust = 3
    case spend = 4
    case expire = 5
    /// Points a member earned went to repay a refund's debt: the funder it was owed to gets them.
    case repay = 6
    /// A refund gave back points that paid its order: the merchant paid their value returns it.
    case spendReturn = 7
    /// Kinds of clearing entries in money, written beside the journals (`clearing_entries`),
    /// never journals of points: the mall's share of a coupon's discount, owed to the merchant
    /// that took the coupon, and its return when a refund cancels the order.
    case couponSubsidy = 8
    case couponSubsidyReturned = 9
    /// A clearing entry in money: the agreed cost of a points-mall reward, owed to the merchant
    /// that handed it over.
    case rewardFulfilled = 10
}

/// A set of postings that moves points between accounts. Always balances.
public struct Journal: Sendable, Equatable {
    public let kind: JournalKind
    public let postings: [Posting]

    /// Traps if the postings do not sum to zero: a journal that does not balance is a programmer
    /// error, never an input error.
    public init(kind: JournalKind, postings: [Posting]) {
        precondition(postings.reduce(0) { $0 + $1.points } == 0, "journal must balance")
        self.kind = kind
        self.postings = postings.filter { $0.points != 0 }
    }

    /// Member +total, each funder −its share.
    public static func earn(memberId: Int64, byFunder: [(funder: Funder, points: Int64)]) -> Journal {
        let total = byFunder.reduce(0) { $0 + $1.points }
        return Journal(kind: .earn, postings: [Posting(account: .member(memberId), points: total)]
            + byFunder.map { Posting(account: .funder($0.funder), points: -$0.points) })
    }

    /// Member −(returned + debt), each funder +what it gets back now, the member's debt account
    /// +debt: the funders the debt is owed to get it back only as the member repays it.
    public static func clawback(memberId: Int64, byFunder: [(funder: Funder, points: Int64)], debtPoints: Int64 = 0) -> Journal {
        precondition(debtPoints >= 0)
        let total = byFunder.reduce(0) { $0 + $1.points } + debtPoints
        return Journal(kind: .refund, postings: [Posting(account: .member(memberId), points: -total)]
            + byFunder.map { Posting(account: .funder($0.funder), points: $0.points) }
            + [Posting(account: .memberDebt(memberId), points: debtPoints)])
    }

    /// The member's debt account −total, each funder it was owed to +its part. The member's own
    /// account does not move: the earn journal beside it credited the points the member repaid with.
    public static func repayment(memberId: Int64, byFunder: [(funder: Funder, points: Int64)]) -> Journal {
        let total = byFunder.reduce(0) { $0 + $1.points }
        return Journal(kind: .repay, postings: [Posting(account: .memberDebt(memberId), points: -total)]
            + byFunder.map { Posting(account: .funder($0.funder), points: $0.points) })
    }

    /// Member −points, the merchant where they paid +points: settlement pays the merchant their
    /// redemption value. Who funded the points is kept with the lots they came from (`SpendDraw`).
    public static func spend(memberId: Int64, merchantId: Int64, points: Int64) -> Journal {
        precondition(points > 0)
        return Journal(kind: .spend, postings: [Posting(account: .member(memberId), points: -points), Posting(account: .funder(.merchant(merchantId)), points: points)])
    }

    /// A refund's return of paid points: the member +points, the merchant −points.
    public static func spendReturn(memberId: Int64, merchantId: Int64, points: Int64) -> Journal {
        precondition(points > 0)
        return Journal(kind: .spendReturn, postings: [Posting(account: .member(memberId), points: points), Posting(account: .funder(.merchant(merchantId)), points: -points)])
    }

    /// A points-mall redemption: member −points, the mall +points (the mall's own account makes no
    /// clearing entry; the fulfilling merchant is paid its agreed cost in money).
    public static func redemption(memberId: Int64, points: Int64) -> Journal {
        precondition(points > 0)
        return Journal(kind: .spend, postings: [Posting(account: .member(memberId), points: -points), Posting(account: .funder(.mall), points: points)])
    }

    /// A cancelled redemption's points back: member +points, the mall −points.
    public static func redemptionCancelled(memberId: Int64, points: Int64) -> Journal {
        precondition(points > 0)
        return Journal(kind: .spendReturn, postings: [Posting(account: .member(memberId), points: points), Posting(account: .funder(.mall), points: -points)])
    }
}
