/// The clearing entries of one party in one period, summed by the kind of journal that made
/// them: what the store reads from the ledger's funder postings.
public struct ClearingTotal: Sendable, Equatable {
    public var party: Funder
    public var kind: JournalKind
    public var entries: Int64
    /// The sum of the party's postings: negative when it issued points.
    public var points: Int64
    /// For entries in money (`JournalKind.couponSubsidy`), their sum: positive, the party
    /// receives; nil for entries in points, which the valuation prices.
    public var amountMinor: Int64?

    public init(party: Funder, kind: JournalKind, entries: Int64, points: Int64) {
        self.party = party
        self.kind = kind
        self.entries = entries
        self.points = points
        self.amountMinor = nil
    }

    public init(party: Funder, kind: JournalKind, entries: Int64, amountMinor: Int64) {
        self.party = party
        self.kind = kind
        self.entries = entries
        self.points = 0
        self.amountMinor = amountMinor
    }
}

public struct StatementLine: Sendable, Equatable {
    public var kind: JournalKind
    public var entries: Int64
    public var points: Int64
    /// Positive: the party receives; negative: it pays.
    public var amountMinor: Int64

    public init(kind: JournalKind, entries: Int64, points: Int64, amountMinor: Int64) {
        self.kind = kind
        self.entries = entries
        self.points = points
        self.amountMinor = amountMinor
    }
}

/// One party's statement for a period: its lines and the one net amount it receives (positive)
/// or pays (negative).
public struct Statement: Sendable, Equatable {
    public var party: Funder
    public var lines: [StatementLine]
    public var netMinor: Int64

    public init(party: Funder, lines: [StatementLine]) throws(DomainError) {
        self.party = party
        self.lines = lines
        var net: Int64 = 0
        for line in lines { net = try Arithmetic.add(net, line.amountMinor) }
        self.netMinor = net
    }
}

/// Nets a period's clearing entries into statements: one per merchant or partner with entries,
/// and one for the mall, the counterparty of every entry, whose lines are the others' summed and
/// negated by kind. Each line is valued once and the mall's lines are sums of those values, so
/// across all statements the nets sum to exactly zero.
public enum Settlement {
    public static func statements(totals: [ClearingTotal], valuation: PointValuation) throws(DomainError) -> [Statement] {
        var byParty: [Funder: [StatementLine]] = [:]
        var mallByKind: [JournalKind: StatementLine] = [:]
        for total in totals {
            precondition(total.party != .mall, "the mall is every entry's counterparty, not a party of its own")
            let amountMinor = if let money = total.amountMinor { money } else { try valuation.amountMinor(points: total.points, kind: total.kind) }
            let line = StatementLine(kind: total.kind, entries: total.entries, points: total.points, amountMinor: amountMinor)
            byParty[total.party, default: []].append(line)
            var mall = mallByKind[total.kind] ?? StatementLine(kind: total.kind, entries: 0, points: 0, amountMinor: 0)
            mall.entries = try Arithmetic.add(mall.entries, line.entries)
            mall.points = try Arithmetic.add(mall.points, -line.points)
            mall.amountMinor = try Arithmetic.add(mall.amountMinor, -line.amountMinor)
            mallByKind[total.kind] = mall
        }
        guard !byParty.isEmpty else { return [] }
        var statements: [Statement] = []
        for (party, lines) in byParty.sorted(by: { order($0.key) < order($1.key) }) {
            statements.append(try Statement(party: party, lines: lines.sorted { $0.kind.rawValue < $1.kind.rawValue }))
        }
        let mallLines = mallByKind.values.sorted { $0.kind.rawValue < $1.kind.rawValue }
        statements.insert(try Statement(party: .mall, lines: mallLines), at: 0)
        precondition(statements.reduce(Int64(0)) { $0 &+ $1.netMinor } == 0, "settlement nets must sum to zero")
        return statements
    }

    /// Mall first, then merchants, then partners, each by id: the order statements are listed in.
    public static func order(_ party: Funder) -> (Int16, Int64) { (party.kind, party.ownerId) }
}
