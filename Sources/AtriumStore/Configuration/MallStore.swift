import AtriumDomain
import Logging
import PostgresNIO

/// Malls (the tenants) and platform operator keys: global tables, no row-level security.
public struct MallStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Creates the mall and its first HQ key in one transaction.
    public func createMall<R: Sendable>(code: String, settings: MallSettings, keyLabel: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (MallRow, IssuedKey) -> R) async throws -> R {
        try await db.mutatePlatform(request) { connection in
            let s = settings
            let rows = try await connection.query("""
                INSERT INTO malls (code, name, currency_code, time_zone, redeem_points, redeem_value_minor,
                    issue_points, issue_value_minor, expiry_policy, expiry_parameter, refund_shortfall_policy, breakage_mall_share_basis_points,
                    points_payment_max_share_basis_points, points_payment_minimum_points, returned_points_validity_days)
                VALUES (\(code), \(s.name), \(s.currencyCode), \(s.timeZone), \(s.redeemPoints), \(s.redeemValueMinor),
                    \(s.issuePoints), \(s.issueValueMinor), \(s.expiryPolicy.kind), \(s.expiryPolicy.parameter), \(s.refundShortfallPolicy.rawValue), \(s.breakageMallShareBasisPoints),
                    \(s.pointsPaymentMaxShareBasisPoints), \(s.pointsPaymentMinimumPoints), \(s.returnedPointsValidityDays))
                ON CONFLICT (code) DO NOTHING
                RETURNING id, epoch_ms(created_at)
                """, logger: logger)
            var created: (Int64, Int64)?
            for try await row in rows.decode((Int64, Int64).self) { created = row }
            guard let (mallId, createdAt) = created else { throw DomainError.alreadyExists("a mall with code \(code) exists") }
            try await Database.setMall(mallId, on: connection, logger: logger)
            let key = try await CredentialStore.insertKey(mallId: mallId, role: .headquarters, merchantId: nil, partnerId: nil, label: keyLabel, on: connection, logger: logger)
            return respond(MallRow(id: mallId, code: code, settings: settings, createdAtMilliseconds: createdAt), key)
        }
    }

    public func issueHeadquartersKey<R: Sendable>(mallId: Int64, label: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (IssuedKey) -> R) async throws -> R {
        try await db.mutatePlatform(request) { connection in
            guard try await Self.mall(mallId, on: connection, logger: logger) != nil else { throw DomainError.notFound("mall \(mallId)") }
            try await Database.setMall(mallId, on: connection, logger: logger)
            return respond(try await CredentialStore.insertKey(mallId: mallId, role: .headquarters, merchantId: nil, partnerId: nil, label: label, on: connection, logger: logger))
        }
    }

    public func mall(_ id: Int64) async throws -> MallRow? {
        try await db.withoutMall { connection in try await Self.mall(id, on: connection, logger: logger) }
    }

    public func listMalls(afterId: Int64, limit: Int) async throws -> [MallRow] {
        try await db.withoutMall { connection in
            try await Self.decodeMalls(connection.query("SELECT \(unescaped: Self.columns) FROM malls WHERE id > \(afterId) ORDER BY id LIMIT \(limit)", logger: logger))
        }
    }

    static let columns = """
        id, code, name, currency_code, time_zone, redeem_points, redeem_value_minor, issue_points, issue_value_minor,
        expiry_policy, expiry_parameter, refund_shortfall_policy, epoch_ms(created_at), breakage_mall_share_basis_points,
        points_payment_max_share_basis_points, points_payment_minimum_points, returned_points_validity_days
        """

    static func mall(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> MallRow? {
        try await decodeMalls(connection.query("SELECT \(unescaped: columns) FROM malls WHERE id = \(id)", logger: logger)).first
    }

    static func decodeMalls(_ rows: PostgresRowSequence) async throws -> [MallRow] {
        var result: [MallRow] = []
        for try await row in rows {
            let (id, code, name, currency, zone, redeemPoints, redeemValue, issuePoints, issueValue) =
                try row.decode((Int64, String, String, String, String, Int64, Int64, Int64, Int64).self)
            let randomAccess = row.makeRandomAccess()
            let expiryKind = try randomAccess[9].decode(Int16.self)
            let expiryParameter = try randomAccess[10].decode(Int32.self)
            let shortfall = try randomAccess[11].decode(Int16.self)
            let createdAt = try randomAccess[12].decode(Int64.self)
            let breakageShare = try randomAccess[13].decode(Int32.self)
            let pointsShare = try randomAccess[14].decode(Int32.self)
            let pointsMinimum = try randomAccess[15].decode(Int64.self)
            let returnedValidity = try randomAccess[16].decode(Int32.self)
            let settings = MallSettings(
                name: name, currencyCode: currency, timeZone: zone, redeemPoints: redeemPoints, redeemValueMinor: redeemValue,
                issuePoints: issuePoints, issueValueMinor: issueValue,
                expiryPolicy: try ExpiryPolicy.from(kind: expiryKind, parameter: expiryParameter),
                refundShortfallPolicy: RefundShortfallPolicy(rawValue: shortfall) ?? .stopAtZero,
                breakageMallShareBasisPoints: breakageShare, pointsPaymentMaxShareBasisPoints: pointsShare, pointsPaymentMinimumPoints: pointsMinimum,
                returnedPointsValidityDays: returnedValidity)
            result.append(MallRow(id: id, code: code, settings: settings, createdAtMilliseconds: createdAt))
        }
        return result
    }
}
