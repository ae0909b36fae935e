import AtriumDomain
import GRPCCore
import GRPCProtobuf

/// Domain errors carry no gRPC; here each gets its status.
extension DomainError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .permissionDenied: .permissionDenied
        case .unauthenticated: .unauthenticated
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        case .aborted: .aborted
        }
    }

    public var rpcErrorMessage: String {
        switch self {
        case .invalidArgument(let field, let reason): "\(field): \(reason)"
        case .notFound(let what): "not found: \(what)"
        case .failedPrecondition(_, let what): what
        case .alreadyExists(let what), .permissionDenied(let what),
            .unauthenticated(let what), .resourceExhausted(let what), .unavailable(let what), .aborted(let what):
            what
        }
    }

    /// A refusal's reason as a `google.rpc.ErrorInfo` in `grpc-status-details-bin`, where
    /// clients of every language find it (`PreconditionReason`).
    public var rpcErrorMetadata: Metadata {
        guard case .failedPrecondition(let reason, let message) = self else { return [:] }
        return GoogleRPCStatus(code: .failedPrecondition, message: message, details: .errorInfo(reason: reason.code, domain: Self.errorDomain)).rpcErrorMetadata
    }

    /// `ErrorInfo.domain` of Atrium's reasons.
    public static let errorDomain = "atrium.v1"
}
