import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// Request-id idempotency in the same transaction as the mutation it guards.
///
/// `claim` inserts (scope, request id, request hash) before the mutation. A concurrent duplicate
/// blocks on that row until the first transaction ends; afterwards it finds the stored response.
/// The same request id with a different request hash is refused, and nothing changes.
public enum Idempotency {
    public enum Claim: Sendable {
        /// First time: run the mutation, then `record` its response.
        case fresh
        /// A retry: answer with the response stored the first time.
        case replay([UInt8])
    }

    public static func claim(
        mallId: Int64, scope: String, requestId: String, requestHash: Data,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Claim {
        let inserted = try await connection.query("""
            INSERT INTO idempotency_records (mall_id, scope, request_id, request_hash)
            VALUES (\(mallId), \(scope), \(requestId), \(requestHash))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in inserted { return .fresh }
        let rows = try await connection.query("""
            SELECT request_hash, response FROM idempotency_records
            WHERE mall_id = \(mallId) AND scope = \(scope) AND request_id = \(requestId)
            """, logger: logger)
        for try await (hash, response) in rows.decode((Data, Data?).self) {
            return try replay(storedHash: hash, response: response, requestHash: requestHash, requestId: requestId)
        }
        throw DomainError.unavailable("idempotency record vanished; retry")
    }

    public static func record(
        mallId: Int64, scope: String, requestId: String, response: [UInt8],
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query("""
            UPDATE idempotency_records SET response = \(Data(response))
            WHERE mall_id = \(mallId) AND scope = \(scope) AND request_id = \(requestId)
            """, logger: logger)
    }

    /// The platform operator's twin of `claim`, on a global table.
    public static func claimPlatform(
        method: String, requestId: String, requestHash: Data, on connection: PostgresConnection, logger: Logger
    ) async throws -> Claim {
        let inserted = try await connection.query("""
            INSERT INTO platform_requests (request_id, method, request_hash) VALUES (\(requestId), \(method), \(requestHash))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in inserted { return .fresh }
        let rows = try await connection.query(
            "SELECT request_hash, response FROM platform_requests WHERE request_id = \(requestId)", logger: logger)
        for try await (hash, response) in rows.decode((Data, Data?).self) {
            return try replay(storedHash: hash, response: response, requestHash: requestHash, requestId: requestId)
        }
        throw DomainError.unavailable("idempotency record vanished; retry")
    }

    public static func recordPlatform(requestId: String, response: [UInt8], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE platform_requests SET response = \(Data(response)) WHERE request_id = \(requestId)", logger: logger)
    }

    private static func replay(storedHash: Data, response: Data?, requestHash: Data, requestId: String) throws -> Claim {
        guard storedHash == requestHash else {
            throw DomainError.alreadyExists("request_id \(requestId) was already used for a different request")
        }
        guard let response else { throw DomainError.unavailable("the first request with this request_id is still running") }
        return .replay([UInt8](response))
    }
}
