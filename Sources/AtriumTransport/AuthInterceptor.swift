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
        var log = logger
        log[metadataKey: "rpc"] = "\(method)"
        log[metadataKey: "request"] = "\(request.metadata[stringValues: "x-request-id"].first(where: { _ in true }) ?? String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let started = ContinuousClock.now
        do {
            let principal = try await authenticator.authenticate(token: Self.bearerToken(request.metadata))
            log[metadataKey: "mall"] = "\(principal.mallId)"
            log[metadataKey: "caller"] = "\(principal.role):\(principal.keyId)"
            let response = try await Caller.$principal.withValue(principal) { try await next(request, context) }
            if case .failure(let error) = response.accepted {
                log.info("rpc failed", metadata: ["status": "\(error.code)", "message": "\(error.message)"])
            } else {
                log.debug("rpc ok", metadata: ["elapsed": "\(ContinuousClock.now - started)"])
            }
            return response
        } catch let error as DomainError {
            log.info("rpc refused", metadata: ["status": "\(error.rpcErrorCode)", "message": "\(error.rpcErrorMessage)"])
            throw RPCError(code: error.rpcErrorCode, message: error.rpcErrorMessage)
        } catch let error as RPCError {
            log.info("rpc failed", metadata: ["status": "\(error.code)", "message": "\(error.message)"])
            throw error
        } catch {
            log.error("rpc crashed into an unexpected error", metadata: ["error": "\(String(reflecting: error))"])
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
