import AtriumDomain
import Logging
import PostgresNIO

/// A merchant's editable fields; nil keeps the stored value on update.
public struct MerchantChanges: Sendable {
    public var name: String?
    public var category: MerchantCategory?
    public var unitNumber: String?
    public var settlement: SettlementAccount?
    public var pendingDays: Int32?

    public init(name: String? = nil, category: MerchantCategory? = nil, unitNumber: String? = nil, settlement: SettlementAccount? = nil, pendingDays: Int32? = nil) {
        self.name = name
        self.category = category
        self.unitNumber = unitNumber
        self.settlement = settlement
        self.pendingDays = pendingDays
    }
}

/// Merchants and partners of a mall.
public struct MerchantStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    public func createMerchant<R: Sendable>(mallId: Int64, code: String, name: String, category: MerchantCategory, unitNumber: String, settlement: SettlementAccount, pendingDays: Int32, request: IdempotentRequest<R>, respond: @escaping @Sendable (MerchantRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            let rows = try await connection.query("""
                INSERT INTO merchants (mall_id, code, name, category, unit_number, settlement_account_name, settlement_bank_name,
                    settlement_account_number, settlement_cycle_days, pending_days)
                VALUES (\(mallId), \(code), \(name), \(category.rawValue), \(unitNumber), \(settlement.accountName), \(settlement.bankName),
                    \(settlement.accountNumber), \(settlement.cycleDays), \(pendingDays))
                ON CONFLICT (mall_id, code) DO NOTHING
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let merchant = try await Self.decode(rows).first else { throw DomainError.alreadyExists("merchant code \(code) is taken") }
            return respond(merchant)
        }
    }

    public func updateMerchant<R: Sendable>(mallId: Int64, id: Int64, changes: MerchantChanges, request: IdempotentRequest<R>, respond: @escaping @Sendable (MerchantRow) -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            let s = changes.settlement
            let rows = try await connection.query("""
                UPDATE merchants SET
                    name = coalesce(\(changes.name), name),
                    category = coalesce(\(changes.category?.rawValue), category),
                    unit_number = coalesce(\(changes.unitNumber), unit_number),
                    settlement_account_name = coalesce(\(s?.accountName), settlement_account_name),
                    settlement_bank_name = coalesce(\(s?.bankName), settlement_bank_name),
                    settlement_account_number = coalesce(\(s?.accountNumber), settlement_account_number),
                    settlement_cycle_days = coalesce(\(s?.cycleDays), settlement_cycle_days),
                    pending_days = coalesce(\(changes.pendingDays), pending_days),
                    updated_at = now()
                WHERE mall_id = \(mallId) AND id = \(id)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let merchant = try await Self.decode(rows).first else { throw DomainError.notFound("merchant \(id)") }
            return respond(merchant)
        }
    }

    /// Suspending a suspended merchant (or reactivating an active one) is refused as a precondition.
    public func setStatus<R: Sendable>(mallId: Int64, id: Int64, status: MerchantStatus, reason: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (MerchantRow) -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            guard let current = try await Self.merchant(mallId: mallId, id: id, on: connection, logger: logger, forUpdate: true) else {
                throw DomainError.notFound("merchant \(id)")
            }
            guard current.status != status else {
                throw DomainError.failedPrecondition(.merchantStatusUnchanged, "merchant \(id) is already \(status == .active ? "active" : "suspended")")
            }
            let rows = try await connection.query("""
                UPDATE merchants SET status = \(status.rawValue), suspension_reason = \(reason), updated_at = now()
                WHERE mall_id = \(mallId) AND id = \(id)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let merchant = try await Self.decode(rows).first else { throw DomainError.notFound("merchant \(id)") }
            return respond(merchant)
        }
    }

    public func merchant(mallId: Int64, id: Int64) async throws -> MerchantRow? {
        try await db.withMall(mallId) { connection in try await Self.merchant(mallId: mallId, id: id, on: connection, logger: logger) }
    }

    public func listMerchants(mallId: Int64, afterId: Int64, limit: Int, category: MerchantCategory?, status: MerchantStatus?) async throws -> [MerchantRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decode(connection.query("""
                SELECT \(unescaped: Self.columns) FROM merchants
                WHERE mall_id = \(mallId) AND id > \(afterId)
                  AND (\(category?.rawValue)::smallint IS NULL OR category = \(category?.rawValue))
                  AND (\(status?.rawValue)::smallint IS NULL OR status = \(status?.rawValue))
                ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    public func createPartner<R: Sendable>(mallId: Int64, code: String, name: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (PartnerRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            let rows = try await connection.query("""
                INSERT INTO partners (mall_id, code, name) VALUES (\(mallId), \(code), \(name))
                ON CONFLICT (mall_id, code) DO NOTHING
                RETURNING id, code, name, epoch_ms(created_at)
                """, logger: logger)
            for try await (id, code, name, createdAt) in rows.decode((Int64, String, String, Int64).self) {
                return respond(PartnerRow(id: id, code: code, name: name, createdAtMilliseconds: createdAt))
            }
            throw DomainError.alreadyExists("partner code \(code) is taken")
        }
    }

    public func listPartners(mallId: Int64, afterId: Int64, limit: Int) async throws -> [PartnerRow] {
        try await db.withMall(mallId) { connection in
            var result: [PartnerRow] = []
            let rows = try await connection.query("""
                SELECT id, code, name, epoch_ms(created_at) FROM partners
                WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger)
            for try await (id, code, name, createdAt) in rows.decode((Int64, String, String, Int64).self) {
                result.append(PartnerRow(id: id, code: code, name: name, createdAtMilliseconds: createdAt))
            }
            return result
        }
    }

    static let columns = """
        id, code, name, category, status, unit_number, settlement_account_name, settlement_bank_name,
        settlement_account_number, settlement_cycle_days, pending_days, suspension_reason, epoch_ms(created_at), epoch_ms(updated_at)
        """

    static func merchant(mallId: Int64, id: Int64, on connection: PostgresConnection, logger: Logger, forUpdate: Bool = false) async throws -> MerchantRow? {
        try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM merchants WHERE mall_id = \(mallId) AND id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger)).first
    }

    static func partnerExists(mallId: Int64, id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await _ in try await connection.query("SELECT 1 FROM partners WHERE mall_id = \(mallId) AND id = \(id)", logger: logger) { return true }
        return false
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [MerchantRow] {
        var result: [MerchantRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            result.append(MerchantRow(
                id: try r[0].decode(Int64.self), code: try r[1].decode(String.self), name: try r[2].decode(String.self),
                category: MerchantCategory(rawValue: try r[3].decode(Int16.self)) ?? .other,
                status: MerchantStatus(rawValue: try r[4].decode(Int16.self)) ?? .active,
                unitNumber: try r[5].decode(String.self),
                settlement: SettlementAccount(
                    accountName: try r[6].decode(String.self), bankName: try r[7].decode(String.self),
                    accountNumber: try r[8].decode(String.self), cycleDays: try r[9].decode(Int32.self)),
                pendingDays: try r[10].decode(Int32.self), suspensionReason: try r[11].decode(String.self),
                createdAtMilliseconds: try r[12].decode(Int64.self), updatedAtMilliseconds: try r[13].decode(Int64.self)))
        }
        return result
    }
}
