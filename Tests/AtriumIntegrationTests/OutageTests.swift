import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing

@Suite("The server outlives its database", .disabled(if: TestServer.citus, "runs on a plain cluster of its own, the same in both runs"))
struct OutageTests {
    /// Its own cluster and server: stopping PostgreSQL must not disturb the other tests.
    @Test(.timeLimit(.minutes(2))) func unavailableWhileDatabaseIsDownThenRecovers() async throws {
        let shared = try await TestServer.shared.start()
        let pid = ProcessInfo.processInfo.processIdentifier
        let cluster = try EmbeddedPostgres(
            options: .init(directory: "/tmp/atrium-test-\(pid)-outage", port: 30_000 + Int(pid % 10_000), durable: false), logger: shared.logger)
        try await cluster.start()
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(atPath: cluster.options.directory)
        }
        let client = PostgresClient(configuration: cluster.clientConfiguration(), backgroundLogger: shared.logger)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.platformKey = TestServer.platformKey
        let service = await RunningService.start(configuration, client: client, owner: cluster.ownerConfiguration(), alongside: [client], logger: shared.logger)
        defer { service.running.cancel() }
        let (group, port) = (service.group, service.port)

        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
            let api = Api(grpc: grpc, key: TestServer.platformKey)
            #expect(try await api.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving)
            _ = try await api.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: api.metadata)

            cluster.stop()
            // Health answers from a probe kept up to date in the background: NOT_SERVING within
            // about three seconds (eight allowed on a loaded machine), without waiting on the pool.
            let clock = ContinuousClock()
            let stopped = clock.now
            while try await api.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving, clock.now - stopped < .seconds(10) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(clock.now - stopped < .seconds(8), "NOT_SERVING after \(clock.now - stopped)")
            await expectStatus(.unavailable) { try await api.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: api.metadata) }
            #expect(try await api.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .notServing)

            try await cluster.start()
            var recovered = false
            for _ in 0..<30 where !recovered {
                do {
                    _ = try await api.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: api.metadata)
                    recovered = true
                } catch {
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            #expect(recovered)
            let back = clock.now
            while try await api.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .notServing, clock.now - back < .seconds(10) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(clock.now - back < .seconds(8), "SERVING after \(clock.now - back)")
        }
        await group.triggerGracefulShutdown()
    }
}
