import AtriumDomain
import AtriumProto
import AtriumStore

extension Atrium_V1_SettlementPeriod {
    init(_ row: SettlementPeriodRow) {
        self.init()
        id = row.id
        startsAtUnixMs = row.startsAtMilliseconds
        endsAtUnixMs = row.endsAtMilliseconds
        closedAtUnixMs = row.closedAtMilliseconds
        entries = row.entries
        statements = row.statements
    }
}

extension Atrium_V1_Statement {
    init(_ row: StatementRow) {
        self.init()
        id = row.id
        periodID = row.periodId
        partyKind = Atrium_V1_PartyKind(rawValue: Int(row.statement.party.kind)) ?? .unspecified
        partyID = row.statement.party.ownerId
        netMinor = row.statement.netMinor
        lines = row.statement.lines.map { line in
            .with {
                $0.kind = Atrium_V1_ClearingKind(rawValue: Int(line.kind.rawValue)) ?? .unspecified
                $0.entries = line.entries
                $0.points = line.points
                $0.amountMinor = line.amountMinor
            }
        }
    }
}

extension Funder {
    /// A statement filter: nil for every party.
    static func from(_ kind: Atrium_V1_PartyKind, id: Int64) throws(DomainError) -> Funder? {
        switch kind {
        case .unspecified:
            guard id == 0 else { throw .invalid("party_id", "needs a party_kind") }
            return nil
        case .mall:
            guard id == 0 else { throw .invalid("party_id", "must be 0 for the mall") }
            return .mall
        case .merchant:
            try Validate.positiveId(id, field: "party_id")
            return .merchant(id)
        case .partner:
            try Validate.positiveId(id, field: "party_id")
            return .partner(id)
        case .UNRECOGNIZED:
            throw .invalid("party_kind", "is not a known party kind")
        }
    }
}
