import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PostgresNIO
import ServiceLifecycle
import Testing

/// The operator's keys live in the database: created, listed, rotated by revoking the old one;
/// the configured key bootstraps only the first and is not revived by a restart.
@Suite("Platform keys", .disabled(if: TestServer.citus, "runs on a plain cluster of its own, the same in both runs"))
struct PlatformKeyTests {
    /// A cluster and server of their own: the test revokes the configured key, which every other
    /// test uses.
    @Test(.timeLimit(.minutes(2))) func keysRotateAndTheConfiguredKeyOnlyBootstraps() async throws {
        let shared = try await TestServer.shared.start()
        let pid = ProcessInfo.processInfo.processIdentifier
        let cluster = try EmbeddedPostgres(
            options: .init(directory: "/tmp/atrium-test-\(pid)-platform-keys", port: 25_000 + Int(pid % 5_000), durable: false), logger: shared.logger)
        try await cluster.start()
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(atPath: cluster.options.directory)
        }
        let client = PostgresClient(configuration: cluster.clientConfiguration(), backgroundLogger: shared.logger)
        let running = Task { await client.run() }
        defer { running.cancel() }

        @Sendable func serving<T: Sendable>(_ body: @Sendable (Api, Int) async throws -> T) async throws -> T {
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.platformKey = TestServer.platformKey
            configuration.expirySweepSeconds = 0
            configuration.authCacheMilliseconds = 0
            let ready = AsyncStream<Int>.makeStream()
            let service = AtriumService(configuration: configuration, client: client, owner: cluster.ownerConfiguration(), logger: shared.logger, onReady: { port in
                ready.continuation.yield(port)
                ready.continuation.finish()
            })
            let group = ServiceGroup(services: [service], logger: shared.logger)
            let serving = Task {
                defer { ready.continuation.finish() }
                try await group.run()
            }
            var port = 0
            for await bound in ready.stream { port = bound }
            defer { serving.cancel() }
            return try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
                let result = try await body(Api(grpc: grpc, key: TestServer.platformKey), port)
                await group.triggerGracefulShutdown()
                return result
            }
        }

        let second = try await serving { configured, _ in
            _ = try await configured.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: configured.metadata)
            let first = try await configured.platform.listPlatformKeys(Atrium_V1_ListPlatformKeysRequest(), metadata: configured.metadata).keys
            #expect(first.map(\.label) == ["configured platform key"])
            let firstId = try #require(first.first?.id)
            await expectRefusal("LAST_ACTIVE_PLATFORM_KEY") {
                try await configured.platform.revokePlatformKey(.with { $0.requestID = Unique.requestId(); $0.keyID = firstId }, metadata: configured.metadata)
            }
            let createRequest = Atrium_V1_CreatePlatformKeyRequest.with { $0.requestID = Unique.requestId(); $0.label = "rotated" }
            let created = try await configured.platform.createPlatformKey(createRequest, metadata: configured.metadata).key
            #expect(created.secret.hasPrefix("atrp_") && created.key.role == .platformOperator)
            let replayed = try await configured.platform.createPlatformKey(createRequest, metadata: configured.metadata).key
            #expect(replayed.secretWithheld && replayed.secret.isEmpty && replayed.key.id == created.key.id)
            let rotated = configured.with(key: created.secret)
            let revokeRequest = Atrium_V1_RevokePlatformKeyRequest.with { $0.requestID = Unique.requestId(); $0.keyID = firstId }
            let revoked = try await rotated.platform.revokePlatformKey(revokeRequest, metadata: rotated.metadata).key
            #expect(revoked.revokedAtUnixMs > 0)
            #expect(try await rotated.platform.revokePlatformKey(revokeRequest, metadata: rotated.metadata).key == revoked)
            await expectStatus(.unauthenticated) { try await configured.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: configured.metadata) }
            await expectStatus(.notFound) {
                try await rotated.platform.revokePlatformKey(.with { $0.requestID = Unique.requestId(); $0.keyID = 999_999 }, metadata: rotated.metadata)
            }
            await expectStatus(.invalidArgument, mentioning: "label") {
                try await rotated.platform.createPlatformKey(.with { $0.requestID = Unique.requestId() }, metadata: rotated.metadata)
            }
            return created.secret
        }
        // Restarted with the same configured key: it stays revoked; the rotated key serves.
        try await serving { configured, _ in
            await expectStatus(.unauthenticated) { try await configured.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: configured.metadata) }
            let rotated = configured.with(key: second)
            let keys = try await rotated.platform.listPlatformKeys(Atrium_V1_ListPlatformKeysRequest(), metadata: rotated.metadata).keys
            #expect(keys.map(\.label) == ["rotated", "configured platform key"])
            #expect(keys.map { $0.revokedAtUnixMs > 0 } == [false, true])
        }
    }
}
