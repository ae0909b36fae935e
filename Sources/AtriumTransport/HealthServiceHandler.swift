import AtriumDomain
import AtriumProto
import GRPCCore
import Synchronization

/// Set when the server starts draining, so long-lived streams (health Watch) end and let the
/// drain finish, and the shutdown grace period starts.
public final class DrainSignal: Sendable {
    private struct State {
        var draining = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    public init() {}

    public func begin() {
        let waiters = state.withLock { state in
            state.draining = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Returns once `begin` was called; throws CancellationError when the task is cancelled first.
    public func waitUntilDraining() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    guard !state.draining, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        if !isDraining { throw CancellationError() }
    }
}

/// The standard grpc.health.v1 service. The server is SERVING while its database answers;
/// a load balancer then stops sending traffic to a replica that lost PostgreSQL.
public struct HealthServiceHandler: Grpc_Health_V1_Health.SimpleServiceProtocol {
    static let knownServices: Set<String> = [
        "", "atrium.v1.PlatformService", "atrium.v1.HeadquartersService", "atrium.v1.MemberService", "atrium.v1.MerchantService",
    ]
    static let watchIntervalSeconds = 5

    let databaseIsUp: @Sendable () async -> Bool
    let drain: DrainSignal

    public init(drain: DrainSignal, databaseIsUp: @escaping @Sendable () async -> Bool) {
        self.drain = drain
        self.databaseIsUp = databaseIsUp
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.knownServices.contains(request.service) else { throw RPCError(code: .notFound, message: "unknown service \(request.service)") }
        let up = await databaseIsUp()
        return .with { $0.status = up ? .serving : .notServing }
    }

    /// Sends the status now and whenever it changes, until the client goes away or the server
    /// drains.
    public func watch(request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext) async throws {
        guard Self.knownServices.contains(request.service) else {
            try await response.write(.with { $0.status = .serviceUnknown })
            return
        }
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        var tick = 0
        while !Task.isCancelled && !drain.isDraining {
            if tick % Self.watchIntervalSeconds == 0 {
                let status: Grpc_Health_V1_HealthCheckResponse.ServingStatus = await databaseIsUp() ? .serving : .notServing
                if status != last {
                    try await response.write(.with { $0.status = status })
                    last = status
                }
            }
            tick += 1
            try await Task.sleep(for: .seconds(1))
        }
        if drain.isDraining { try await response.write(.with { $0.status = .notServing }) }
    }
}

