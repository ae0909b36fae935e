import AtriumDomain
import Logging
import PostgresNIO

/// API keys of a mall (HQ, merchant, partner) and the lookup that authenticates a bearer token.
/// Only SHA-256 hashes of secrets are stored.
public struct CredentialStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// What a token authenticates as, and when its last use was recorded.
    public struct Authenticated: Sendable {
        public var principal: Principal
        public var lastUsedAtMilliseconds: Int64?
    }

    /// Looks a token up; nil when unknown or revoked. Records the use at most once a minute.
    public func authenticate(token: String) async throws -> Principal? {
        let hash = Hashing.sha256(token)
        switch Keys.parse(token) {
        case nil:
            return nil
        case .platform:
            return try await db.withoutMall { connection in
                let rows = try await connection.query("""
                    SELECT id, last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
                    FROM platform_keys WHERE key_hash = \(hash) AND revoked_at IS NULL
                    """, logger: logger)
                for try await (id, stale) in rows.decode((Int64, Bool).self) {
                    if stale { try await connection.query("UPDATE platform_keys SET last_used_at = now() WHERE id = \(id)", logger: logger) }
                    return Principal(role: .platformOperator, keyId: id, mallId: 0)
                }
                return nil
            }
        case .mall(let mallId):
            return try await db.withMall(mallId) { connection in
                let rows = try await connection.query("""
                    SELECT id, role, merchant_id, partner_id, last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
                    FROM api_keys WHERE mall_id = \(mallId) AND key_hash = \(hash) AND revoked_at IS NULL
                    """, logger: logger)
                for try await (id, role, merchantId, partnerId, stale) in rows.decode((Int64, Int16, Int64?, Int64?, Bool).self) {
                    guard let role = Role(rawValue: role) else { return nil }
                    if stale {
                        try await connection.query("UPDATE api_keys SET last_used_at = now() WHERE mall_id = \(mallId) AND id = \(id)", logger: logger)
                    }
                    return Principal(role: role, keyId: id, mallId: mallId, merchantId: merchantId, partnerId: partnerId)
                }
                return nil
            }
        }
    }

    public func createKey<R: Sendable>(mallId: Int64, role: Role, merchantId: Int64?, partnerId: Int64?, label: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (IssuedKey) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            if let merchantId {
                guard try await MerchantStore.merchant(mallId: mallId, id: merchantId, on: connection, logger: logger) != nil else {
                    throw DomainError.notFound("merchant \(merchantId)")
                }
            }
            if let partnerId {
                guard try await MerchantStore.partnerExists(mallId: mallId, id: partnerId, on: connection, logger: logger) else {
                    throw DomainError.notFound("partner \(partnerId)")
                }
            }
            return respond(try await Self.insertKey(mallId: mallId, role: role, merchantId: merchantId, partnerId: partnerId, label: label, on: connection, logger: logger))
        }
    }

    public func listKeys(mallId: Int64, afterId: Int64, limit: Int, includeRevoked: Bool) async throws -> [ApiKeyRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decodeKeys(connection.query("""
                SELECT \(unescaped: Self.columns) FROM api_keys
                WHERE mall_id = \(mallId) AND id > \(afterId) AND (\(includeRevoked) OR revoked_at IS NULL)
                ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// Revoking twice is harmless: the key keeps its first revocation time.
    public func revokeKey<R: Sendable>(mallId: Int64, keyId: Int64, request: IdempotentRequest<R>, respond: @escaping @Sendable (ApiKeyRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            // Two statements: Citus refuses now() inside the COALESCE of a write.
            try await connection.query("UPDATE api_keys SET revoked_at = now() WHERE mall_id = \(mallId) AND id = \(keyId) AND revoked_at IS NULL", logger: logger)
            let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM api_keys WHERE mall_id = \(mallId) AND id = \(keyId)", logger: logger)
            guard let key = try await Self.decodeKeys(rows).first else { throw DomainError.notFound("api key \(keyId)") }
            return respond(key)
        }
    }

    static let columns = """
        id, role, mall_id, merchant_id, partner_id, label, prefix, epoch_ms(created_at), epoch_ms(last_used_at), epoch_ms(revoked_at)
        """

    static func decodeKeys(_ rows: PostgresRowSequence) async throws -> [ApiKeyRow] {
        var keys: [ApiKeyRow] = []
        for try await (id, role, mallId, merchantId, partnerId, label, prefix, createdAt, lastUsedAt, revokedAt)
            in rows.decode((Int64, Int16, Int64, Int64?, Int64?, String, String, Int64, Int64?, Int64?).self) {
            keys.append(ApiKeyRow(
                id: id, role: Role(rawValue: role) ?? .headquarters, mallId: mallId, merchantId: merchantId, partnerId: partnerId,
                label: label, prefix: prefix, createdAtMilliseconds: createdAt, lastUsedAtMilliseconds: lastUsedAt, revokedAtMilliseconds: revokedAt))
        }
        return keys
    }

    static func insertKey(mallId: Int64, role: Role, merchantId: Int64?, partnerId: Int64?, label: String, on connection: PostgresConnection, logger: Logger) async throws -> IssuedKey {
        let token = Keys.mallToken(mallId: mallId)
        let rows = try await connection.query("""
            INSERT INTO api_keys (mall_id, role, merchant_id, partner_id, label, key_hash, prefix)
            VALUES (\(mallId), \(role.rawValue), \(merchantId), \(partnerId), \(label), \(Hashing.sha256(token)), \(Keys.prefix(of: token)))
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let key = try await decodeKeys(rows).first else { throw DomainError.unavailable("key insert returned nothing") }
        return IssuedKey(key: key, secret: token)
    }
}
