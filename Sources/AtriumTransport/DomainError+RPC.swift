import AtriumDomain
import GRPCCore

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
        case .alreadyExists(let what), .failedPrecondition(let what), .permissionDenied(let what),
            .unauthenticated(let what), .resourceExhausted(let what), .unavailable(let what), .aborted(let what):
            what
        }
    }
}
