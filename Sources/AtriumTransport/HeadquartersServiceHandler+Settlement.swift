import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// HQ's settlement: closing periods and reading their statements.
extension HeadquartersServiceHandler {
    /// Idempotent by its period end (see `SettlementStore.closePeriod`).
    public func closeSettlementPeriod(request: Atrium_V1_CloseSettlementPeriodRequest, context: ServerContext) async throws -> Atrium_V1_CloseSettlementPeriodResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.periodEndUnixMs, field: "period_end_unix_ms")
        // The store checks again by the database's clock; this keeps absurd instants away from it.
        guard request.periodEndUnixMs <= now() else { throw DomainError.failedPrecondition(.periodNotEnded, "period_end is in the future: a period closes once it has ended") }
        let (period, replayed) = try await settlement.closePeriod(mallId: hq.mallId, endsAtMilliseconds: request.periodEndUnixMs)
        return .with {
            $0.period = Atrium_V1_SettlementPeriod(period)
            $0.replayed = replayed
        }
    }

    public func listSettlementPeriods(request: Atrium_V1_ListSettlementPeriodsRequest, context: ServerContext) async throws -> Atrium_V1_ListSettlementPeriodsResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let periods = try await settlement.periods(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.periods = periods.map(Atrium_V1_SettlementPeriod.init)
            $0.nextPageToken = PageToken.next(ids: periods.map(\.id), pageSize: limit)
        }
    }

    public func listStatements(request: Atrium_V1_ListStatementsRequest, context: ServerContext) async throws -> Atrium_V1_ListStatementsResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        guard request.periodID >= 0 else { throw DomainError.invalid("period_id", "must not be negative") }
        let party = try Funder.from(request.partyKind, id: request.partyID)
        let rows = try await settlement.statements(
            mallId: hq.mallId, periodId: request.periodID, party: party, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.statements = rows.map(Atrium_V1_Statement.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func exportStatements(request: Atrium_V1_ExportStatementsRequest, context: ServerContext) async throws -> Atrium_V1_ExportStatementsResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.periodID, field: "period_id")
        let (fileName, csv) = try await settlement.export(mallId: hq.mallId, periodId: request.periodID)
        return .with {
            $0.fileName = fileName
            $0.csv = csv
        }
    }
}
