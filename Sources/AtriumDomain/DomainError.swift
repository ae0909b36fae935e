/// An operating error: bad input or a state that refuses the request. Free of gRPC; the
/// transport maps each case to a status. Programmer errors trap instead.
public enum DomainError: Error, Equatable, Sendable {
    /// `field` names the offending request field in proto spelling, e.g. "order.amount_minor".
    case invalidArgument(field: String, reason: String)
    case notFound(String)
    case alreadyExists(String)
    /// The request is valid but the state refuses it: `reason` for machines, the message for people.
    case failedPrecondition(PreconditionReason, String)
    case permissionDenied(String)
    case unauthenticated(String)
    case resourceExhausted(String)
    case unavailable(String)
    /// A concurrent transaction holds what the request needs (a row lock that did not come free
    /// in time): retrying the same request may succeed.
    case aborted(String)

    public static func invalid(_ field: String, _ reason: String) -> DomainError {
        .invalidArgument(field: field, reason: reason)
    }
}
