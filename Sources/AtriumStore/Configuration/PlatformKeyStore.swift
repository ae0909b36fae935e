import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// The platform operator's keys, in the database like every other credential, so they can be
/// rotated and revoked. The configured key (`--platform-key`) only bootstraps the first: once the
/// platform has a key, a configured one that is not registered is not added, so a revoked key
/// stays revoked when the server restarts with it.
public struct PlatformKeyStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) {
        self.db = db
    }

    /// Registers `token` when the platform has no key at all; true when it is (now) registered.
    @discardableResult
    public func bootstrap(token: String, label: String) async throws -> Bool {
        let hash = Hashing.sha256(token)
        return try await db.withoutMall { connection in
            // Serializes replicas starting together: only one of them may find the table empty.
            try await connection.query("LOCK TABLE platform_keys IN SHARE ROW EXCLUSIVE MODE", logger: logger)
            try await connection.query("""
                INSERT INTO platform_keys (label, key_hash, prefix)
                SELECT \(label), \(hash), \(Keys.prefix(of: token)) WHERE NOT EXISTS (SELECT 1 FROM platform_keys)
                """, logger: logger)
            for try await _ in try await connection.query("SELECT 1 FROM platform_keys WHERE key_hash = \(hash)", logger: logger) { return true }
            return false
        }
    }

    public func create<R: Sendable>(label: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (IssuedKey) -> R) async throws -> R {
        try await db.mutatePlatform(request) { connection in
            var active = 0
            for try await count in try await connection.query("SELECT count(*)::int FROM platform_keys WHERE revoked_at IS NULL", logger: logger).decode(Int.self) {
                active = count
            }
            guard active < Limits.platformKeysActiveMax else {
                throw DomainError.failedPrecondition(.platformKeysLimit, "at most \(Limits.platformKeysActiveMax) active platform keys; revoke one first")
            }
            let token = Keys.platformToken()
            var id: Int64?
            for try await value in try await connection.query("""
                INSERT INTO platform_keys (label, key_hash, prefix) VALUES (\(label), \(Hashing.sha256(token)), \(Keys.prefix(of: token))) RETURNING id
                """, logger: logger).decode(Int64.self) { id = value }
            guard let id, let key = try await Self.key(id, on: connection, logger: logger) else { throw DomainError.unavailable("key insert returned nothing") }
            return respond(IssuedKey(key: key, secret: token))
        }
    }

    /// Newest first, revoked ones included.
    public func list(limit: Int) async throws -> [ApiKeyRow] {
        try await db.withoutMall { connection in
            try await Self.decode(connection.query("SELECT \(unescaped: Self.columns) FROM platform_keys ORDER BY id DESC LIMIT \(limit)", logger: logger))
        }
    }

    /// Revokes `keyId`, unless it is the last active key (the operator would be locked out).
    /// The active keys are locked first, so two revocations at once cannot leave none.
    public func revoke<R: Sendable>(keyId: Int64, request: IdempotentRequest<R>, respond: @escaping @Sendable (ApiKeyRow) -> R) async throws -> R {
        try await db.mutatePlatform(request) { connection in
            var active: [Int64] = []
            for try await id in try await connection.query(
                "SELECT id FROM platform_keys WHERE revoked_at IS NULL ORDER BY id FOR UPDATE", logger: logger
            ).decode(Int64.self) { active.append(id) }
            guard let key = try await Self.key(keyId, on: connection, logger: logger) else { throw DomainError.notFound("platform key \(keyId)") }
            if key.revokedAtMilliseconds == nil {
                guard active != [keyId] else {
                    throw DomainError.failedPrecondition(.lastActivePlatformKey, "create another platform key before revoking this one")
                }
                try await connection.query("UPDATE platform_keys SET revoked_at = now() WHERE id = \(keyId) AND revoked_at IS NULL", logger: logger)
            }
            guard let revoked = try await Self.key(keyId, on: connection, logger: logger) else { throw DomainError.notFound("platform key \(keyId)") }
            return respond(revoked)
        }
    }

    static let columns = "id, label, prefix, epoch_ms(created_at), epoch_ms(last_used_at), epoch_ms(revoked_at)"

    static func key(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> ApiKeyRow? {
        try await decode(connection.query("SELECT \(unescaped: columns) FROM platform_keys WHERE id = \(id)", logger: logger)).first
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [ApiKeyRow] {
        var keys: [ApiKeyRow] = []
        for try await (id, label, prefix, createdAt, lastUsedAt, revokedAt) in rows.decode((Int64, String, String, Int64, Int64?, Int64?).self) {
            keys.append(ApiKeyRow(
                id: id, role: .platformOperator, mallId: 0, merchantId: nil, partnerId: nil, label: label, prefix: prefix,
                createdAtMilliseconds: createdAt, lastUsedAtMilliseconds: lastUsedAt, revokedAtMilliseconds: revokedAt))
        }
        return keys
    }
}
