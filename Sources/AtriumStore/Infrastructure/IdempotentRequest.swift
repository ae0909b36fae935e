import AtriumDomain
import Foundation
import PostgresNIO

/// A mutating request's idempotency key, fingerprint and response codec. The transport builds it
/// (it owns the wire format); the store claims the key and stores the encoded response in the
/// mutation's own transaction.
public struct IdempotentRequest<Response: Sendable>: Sendable {
    /// Separates callers: e.g. "CreateMerchant|hq" or "SubmitOrder|merchant:7".
    public let scope: String
    public let requestId: String
    public let requestHash: Data
    /// What to store; may withhold secrets (a replay then answers without them).
    public let encode: @Sendable (Response) throws -> [UInt8]
    public let decode: @Sendable ([UInt8]) throws -> Response

    public init(scope: String, requestId: String, requestHash: Data, encode: @escaping @Sendable (Response) throws -> [UInt8], decode: @escaping @Sendable ([UInt8]) throws -> Response) {
        self.scope = scope
        self.requestId = requestId
        self.requestHash = requestHash
        self.encode = encode
        self.decode = decode
    }
}

extension Database {
    /// Claims the request id, runs `body` once, and stores its response; a retry gets the stored
    /// response and runs nothing.
    public func mutate<R: Sendable>(_ mallId: Int64, _ request: IdempotentRequest<R>, _ body: @Sendable @escaping (PostgresConnection) async throws -> R) async throws -> R {
        try await withMall(mallId) { connection in
            switch try await Idempotency.claim(mallId: mallId, scope: request.scope, requestId: request.requestId, requestHash: request.requestHash, on: connection, logger: logger) {
            case .replay(let bytes):
                return try request.decode(bytes)
            case .fresh:
                let response = try await body(connection)
                try await Idempotency.record(mallId: mallId, scope: request.scope, requestId: request.requestId, response: try request.encode(response), on: connection, logger: logger)
                return response
            }
        }
    }

    /// `mutate` for a change to what `RulesCache` holds (rules, campaigns, merchants): drops the
    /// mall's cached entry once the change has committed (or failed, which does no harm).
    public func mutateRules<R: Sendable>(_ mallId: Int64, _ request: IdempotentRequest<R>, _ body: @Sendable @escaping (PostgresConnection) async throws -> R) async throws -> R {
        defer { rulesCache.invalidate(mallId: mallId) }
        return try await mutate(mallId, request, body)
    }

    /// The platform operator's twin of `mutate`, with no mall set.
    public func mutatePlatform<R: Sendable>(_ request: IdempotentRequest<R>, _ body: @Sendable @escaping (PostgresConnection) async throws -> R) async throws -> R {
        try await withoutMall { connection in
            switch try await Idempotency.claimPlatform(method: request.scope, requestId: request.requestId, requestHash: request.requestHash, on: connection, logger: logger) {
            case .replay(let bytes):
                return try request.decode(bytes)
            case .fresh:
                let response = try await body(connection)
                try await connection.query(PostgresQuery(unsafeSQL: "RESET atrium.mall_id"), logger: logger)
                try await Idempotency.recordPlatform(requestId: request.requestId, response: try request.encode(response), on: connection, logger: logger)
                return response
            }
        }
    }
}
