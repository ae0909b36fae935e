import AtriumDomain
import Logging
import PostgresNIO

/// A point hold as stored, with its status as of the read.
public struct PointHoldRow: Sendable, Equatable {
    public var id: Int64
    public var memberId: Int64
    /// The till that made it; nil: the member app.
    public var merchantId: Int64?
    public var points: Int64
    public var status: PointHoldStatus
    public var createdAtMilliseconds: Int64
    public var expiresAtMilliseconds: Int64
}

/// Point holds: two-phase reservations of a member's points for a payment to come. A hold is
/// admitted under the member's row lock against what the member can spend at that instant (live,
/// available lots less debt less the other live holds), so two tills can never hold the same
/// points. Each call is one transaction: idempotency key → member lock → checks → one write.
public struct HoldStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Whom a hold is for: the member app may name the member; a till only by QR token.
    public enum MemberKey: Sendable {
        case id(Int64)
        case qrToken(String)
    }

    /// Holds `points` of the member `key` names for `lifetimeMilliseconds` from `nowMilliseconds`.
    public func hold<R: Sendable>(
        mallId: Int64, member key: MemberKey, merchantId: Int64?, points: Int64, lifetimeMilliseconds: Int64, nowMilliseconds: Int64,
        request: IdempotentRequest<R>, respond: @escaping @Sendable (PointHoldRow) -> R
    ) async throws -> R {
        precondition(lifetimeMilliseconds > 0)
        return try await db.mutate(mallId, request) { connection in
            guard let mall = try await MallStore.mall(mallId, on: connection, logger: logger) else { throw DomainError.notFound("mall \(mallId)") }
            guard let member = try await Self.lockMember(mallId: mallId, key, on: connection, logger: logger) else { throw DomainError.notFound("member") }
            guard !member.frozen else { throw DomainError.failedPrecondition(.memberFrozen, "member \(member.memberCode) is frozen") }
            let spendable = try await spendablePoints(mallId: mallId, memberId: member.id, nowMilliseconds: nowMilliseconds, on: connection)
            try mall.settings.pointsPayment.reserve(points: points, spendablePoints: spendable, field: "points")
            let rows = try await connection.query("""
                INSERT INTO point_holds (mall_id, member_id, merchant_id, points, created_at, expires_at)
                VALUES (\(mallId), \(member.id), \(merchantId), \(points), from_epoch_ms(\(nowMilliseconds)), from_epoch_ms(\(nowMilliseconds + lifetimeMilliseconds)))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let hold = try await Self.decode(rows, nowMilliseconds: nowMilliseconds).first else { throw DomainError.unavailable("the hold was not written; retry") }
            return respond(hold)
        }
    }

    /// Ends a held hold; `merchantId` nil for the member app's holds. A hold released before, or
    /// whose time ran out, is answered as it stands; a captured one is refused. Another holder's
    /// hold is not found.
    public func release<R: Sendable>(
        mallId: Int64, holdId: Int64, merchantId: Int64?, nowMilliseconds: Int64, request: IdempotentRequest<R>,
        respond: @escaping @Sendable (PointHoldRow) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.columns) FROM point_holds
                WHERE mall_id = \(mallId) AND id = \(holdId) AND merchant_id IS NOT DISTINCT FROM \(merchantId)
                FOR UPDATE
                """, logger: logger)
            guard let hold = try await Self.decode(rows, nowMilliseconds: nowMilliseconds).first else { throw DomainError.notFound("hold \(holdId)") }
            switch hold.status {
            case .captured: throw DomainError.failedPrecondition(.holdCaptured, "hold \(holdId) paid an order; refund the order instead")
            case .released, .expired: return respond(hold)
            case .held: break
            }
            let released = try await connection.query("""
                UPDATE point_holds SET status = \(PointHoldStatus.released.rawValue), ended_at = from_epoch_ms(\(nowMilliseconds))
                WHERE mall_id = \(mallId) AND id = \(holdId)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let row = try await Self.decode(released, nowMilliseconds: nowMilliseconds).first else { throw DomainError.unavailable("the hold was not released; retry") }
            return respond(row)
        }
    }

    static func lockMember(mallId: Int64, _ key: MemberKey, on connection: PostgresConnection, logger: Logger) async throws -> MemberRow? {
        switch key {
        case .qrToken(let token):
            return try await MemberStore.lookup(mallId: mallId, key: .qrToken(token), lock: true, on: connection, logger: logger)
        case .id(let id):
            return try await MemberStore.decode(connection.query(
                "SELECT \(unescaped: MemberStore.columns) FROM members WHERE mall_id = \(mallId) AND id = \(id) FOR UPDATE", logger: logger)).first
        }
    }

    /// What the member can spend now: live, available lots less debt less live holds.
    private func spendablePoints(mallId: Int64, memberId: Int64, nowMilliseconds: Int64, on connection: PostgresConnection) async throws -> Int64 {
        var lotsPoints: Int64 = 0, debtPoints: Int64 = 0
        for try await (lots, debt) in try await connection.query("""
            SELECT coalesce((SELECT sum(remaining_points) FROM lots
                    WHERE mall_id = \(mallId) AND member_id = \(memberId) AND remaining_points > 0 AND available_at <= from_epoch_ms(\(nowMilliseconds))
                      AND (expires_at IS NULL OR expires_at > from_epoch_ms(\(nowMilliseconds)))), 0)::bigint,
                debt_points
            FROM members WHERE mall_id = \(mallId) AND id = \(memberId)
            """, logger: logger).decode((Int64, Int64).self) {
            (lotsPoints, debtPoints) = (lots, debt)
        }
        let held = try await Self.heldPoints(mallId: mallId, memberId: memberId, nowMilliseconds: nowMilliseconds, on: connection, logger: logger)
        return max(0, try Arithmetic.add(lotsPoints, -(try Arithmetic.add(debtPoints, held))))
    }

    static func heldPoints(mallId: Int64, memberId: Int64, nowMilliseconds: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        for try await held in try await connection.query("""
            SELECT coalesce(sum(points), 0)::bigint FROM point_holds
            WHERE mall_id = \(mallId) AND member_id = \(memberId) AND status = \(PointHoldStatus.held.rawValue) AND expires_at > from_epoch_ms(\(nowMilliseconds))
            """, logger: logger).decode(Int64.self) {
            return held
        }
        return 0
    }

    static let columns = "id, member_id, merchant_id, points, status, epoch_ms(created_at), epoch_ms(expires_at)"

    static func decode(_ rows: PostgresRowSequence, nowMilliseconds: Int64) async throws -> [PointHoldRow] {
        var holds: [PointHoldRow] = []
        for try await (id, memberId, merchantId, points, status, createdAt, expiresAt) in rows.decode((Int64, Int64, Int64?, Int64, Int16, Int64, Int64).self) {
            guard let stored = PointHoldStatus(rawValue: status) else { preconditionFailure("point_holds.status is checked by the schema") }
            holds.append(PointHoldRow(
                id: id, memberId: memberId, merchantId: merchantId, points: points,
                status: .at(stored, expiresAtMilliseconds: expiresAt, nowMilliseconds: nowMilliseconds),
                createdAtMilliseconds: createdAt, expiresAtMilliseconds: expiresAt))
        }
        return holds
    }
}
