import AtriumDomain

/// The authenticated caller of the current RPC, set by `AuthInterceptor` around the handler.
public enum Caller {
    @TaskLocal public static var principal: Principal?

    /// The caller, if it has one of `roles`; otherwise PERMISSION_DENIED.
    static func require(_ roles: Role...) throws -> Principal {
        guard let principal else { throw DomainError.unauthenticated("missing credentials") }
        guard roles.contains(principal.role) else {
            throw DomainError.permissionDenied("this method is not open to \(principal.role) credentials")
        }
        return principal
    }
}
