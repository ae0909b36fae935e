import AtriumDomain
import AtriumProto
import AtriumStore
import SwiftProtobuf

/// Builds the store's idempotency envelope for a protobuf request and response.
enum Idempotent {
    /// - Parameters:
    ///   - method: the RPC name, part of the key's scope.
    ///   - withhold: removes what must not be stored (secrets) before the response is kept.
    static func request<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, caller: Principal, requestId: String, message: Request,
        as _: Response.Type = Response.self, withhold: @escaping @Sendable (inout Response) -> Void = { _ in }
    ) throws -> IdempotentRequest<Response> {
        try Validate.requestId(requestId)
        let bytes: [UInt8] = try message.serializedBytes()
        return IdempotentRequest(
            scope: "\(method)|\(scope(of: caller))",
            requestId: requestId,
            requestHash: Hashing.sha256(bytes),
            encode: { response in
                var stored = response
                withhold(&stored)
                return try stored.serializedBytes()
            },
            decode: { bytes in try Response(serializedBytes: bytes) })
    }

    /// Merchants and partners each get their own key space; HQ keys of a mall share one, and so
    /// do its member app's.
    static func scope(of caller: Principal) -> String {
        switch caller.role {
        case .platformOperator: "platform"
        case .headquarters: "hq"
        case .merchant: "merchant:\(caller.merchantId ?? 0)"
        case .partner: "partner:\(caller.partnerId ?? 0)"
        case .memberApp: "app"
        }
    }
}
