import AtriumDomain
import AtriumProto
import GRPCCore
import Synchronization

/// Set when the server starts draining, so long-lived streams (health Watch) end and let the
/// drain finish.
public final class DrainSignal: Sendable {
    private let draining = Atomic<Bool>(false)
    public init() {}
    public func begin() { draining.store(true, ordering: .relaxed) }
    public var isDraining: Bool { draining.load(ordering: .relaxed) }
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

