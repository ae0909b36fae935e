import AtriumDomain
import GRPCCore
import Logging

/// Authenticates every call (but health checks) from `authorization: Bearer <key>`, runs the
/// handler with `Caller.principal` set, logs the call with its caller, and turns unexpected
/// errors into INTERNAL without leaking their text.
public struct AuthInterceptor: ServerInterceptor {
    static let publicServices: Set<String> = ["grpc.health.v1.Health"]

    let authenticator: Authenticator
    let logger: Logger

    public init(authenticator: Authenticator, logger: Logger) {
        self.authenticator = authenticator
        self.logger = logger
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        if Self.publicServices.contains(context.descriptor.service.fullyQualifiedService) {
            return try await next(request, context)
        }
        let requestId = request.metadata[stringValues: "x-request-id"].first(where: { _ in true })
        let started = ContinuousClock.now
        var principal: Principal?
        // Built only when a line is logged: setting logger metadata on every call cost more
        // than the rest of authentication.
        func metadata(_ extra: Logger.Metadata) -> Logger.Metadata {
            var all = extra
            all["rpc"] = "\(method)"
            all["request"] = "\(requestId ?? "-")"
            if let principal {
                all["mall"] = "\(principal.mallId)"
                all["caller"] = "\(principal.role):\(principal.keyId)"
            }
            return all
        }
        do {
            let authenticated = try await authenticator.authenticate(token: Self.bearerToken(request.metadata), peer: context.remotePeer)
            principal = authenticated
            let response = try await Caller.$principal.withValue(authenticated) { try await next(request, context) }
            if case .failure(let error) = response.accepted {
                logger.info("rpc failed", metadata: metadata(["status": "\(error.code)", "message": "\(error.message)"]))
            } else {
                logger.debug("rpc ok", metadata: metadata(["elapsed": "\(ContinuousClock.now - started)"]))
            }
            return response
        } catch let error as DomainError {
            logger.info("rpc refused", metadata: metadata(["status": "\(error.rpcErrorCode)", "message": "\(error.rpcErrorMessage)"]))
            throw RPCError(error)
        } catch let error as RPCError {
            logger.info("rpc failed", metadata: metadata(["status": "\(error.code)", "message": "\(error.message)"]))
            throw error
        } catch {
            logger.error("rpc crashed into an unexpected error", metadata: metadata(["error": "\(String(reflecting: error))"]))
            throw RPCError(code: .internalError, message: "internal error")
        }
    }

    static func bearerToken(_ metadata: Metadata) throws -> String {
        guard let value = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
            throw DomainError.unauthenticated("missing 'authorization: Bearer <key>' metadata")
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw DomainError.unauthenticated("authorization must be 'Bearer <key>'")
        }
        return String(parts[1])
    }
}
