import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import ServiceLifecycle
import Testing

/// grpc-swift's HTTP/2 transport as atriumd configures it: TLS from PEM files, and a graceful
/// shutdown that lets calls in flight finish within the grace period and cancels them after it.
@Suite("The gRPC transport")
struct TransportTests {
    /// A server of its own over the shared database, in a ServiceGroup the test can shut down.
    struct OwnServer {
        let group: ServiceGroup
        let running: Task<Void, any Error>
        let port: Int

        static func start(_ configure: (inout ServerConfiguration) -> Void) async throws -> OwnServer {
            // The port, or 0 when the service failed before it listened.
            let shared = try await TestServer.shared.start()
            var configuration = ServerConfiguration()
            configuration.citus = TestServer.citus
            configuration.port = 0
            configuration.platformKey = TestServer.platformKey
            configuration.expirySweepSeconds = 0
            configure(&configuration)
            let service = await RunningService.start(configuration, client: shared.client, owner: nil, logger: shared.logger)
            return OwnServer(group: service.group, running: service.running, port: service.port)
        }
    }

    /// A self-signed certificate for 127.0.0.1, made with openssl for this test.
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=atrium-test", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        return (certificate, key)
    }

    @Test(.timeLimit(.minutes(1))) func tlsServesClientsThatTrustTheCertificateAndOnlyThem() async throws {
        let (certificate, key) = try Self.selfSignedCertificate()
        let server = try await OwnServer.start { $0.tlsCertificatePath = certificate; $0.tlsKeyPath = key }

        let trusting = HTTP2ClientTransport.Posix.TransportSecurity.tls {
            $0.trustRoots = .certificates([.file(path: certificate, format: .pem)])
            $0.serverCertificateVerification = .noHostnameVerification
        }
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: trusting)) { grpc in
            let api = Api(grpc: grpc, key: TestServer.platformKey)
            #expect(try await api.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving)
            _ = try await api.platform.listMalls(Atrium_V1_ListMallsRequest(), metadata: api.metadata)
        }
        // A client that speaks plaintext, or does not trust the certificate, gets no answer.
        for security in [HTTP2ClientTransport.Posix.TransportSecurity.plaintext, .tls] {
            try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: security)) { grpc in
                let api = Api(grpc: grpc, key: TestServer.platformKey)
                // No answer: refused while connecting, or still unconnected at the call's deadline.
                do {
                    _ = try await api.health.check(Grpc_Health_V1_HealthCheckRequest(), options: Self.shortDeadline)
                    Issue.record("answered a client that should not reach it")
                } catch let error as RPCError {
                    #expect([.unavailable, .deadlineExceeded].contains(error.code), "\(error)")
                }
            }
        }
        await server.group.triggerGracefulShutdown()
        try await server.running.value
    }

    static var shortDeadline: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        return options
    }

    @Test func aServerWithUnreadableTlsFilesRefusesToStart() async throws {
        let server = try await OwnServer.start { $0.tlsCertificatePath = "/nonexistent/cert.pem"; $0.tlsKeyPath = "/nonexistent/key.pem" }
        await #expect(throws: (any Error).self) { try await server.running.value }
    }

    /// A call in flight when the shutdown begins is answered to its end (a health Watch gets
    /// NOT_SERVING and ends cleanly); a client still sending its request (grpc-swift closes such
    /// half-open streams at once), and new calls, do not hold the server, which stops well inside
    /// its grace.
    @Test(.timeLimit(.minutes(1))) func shutdownDrainsCallsInFlightAndStopsWithinItsGrace() async throws {
        let server = try await OwnServer.start { $0.shutdownGraceSeconds = 5 }
        let clock = ContinuousClock()
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)) { grpc in
            let api = Api(grpc: grpc, key: TestServer.platformKey)
            // Once, under the whole suite's load, a first connection to a server just started was
            // reset before its HTTP/2 preface; wait-for-ready lets the client connect again.
            var ready = CallOptions.defaults
            ready.waitForReady = true
            #expect(try await api.health.check(Grpc_Health_V1_HealthCheckRequest(), options: ready).status == .serving)
            let watching = Task {
                try await api.health.watch(Grpc_Health_V1_HealthCheckRequest()) { response in
                    var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                    for try await message in response.messages { statuses.append(message.status) }
                    return statuses
                }
            }
            let halfOpen = Task { () async throws -> Atrium_V1_ListMallsResponse in
                let request = StreamingClientRequest<Atrium_V1_ListMallsRequest>(metadata: api.metadata) { writer in
                    try await writer.write(Atrium_V1_ListMallsRequest())
                    try await Task.sleep(for: .seconds(60))
                }
                return try await grpc.clientStreaming(
                    request: request, descriptor: Atrium_V1_PlatformService.Method.ListMalls.descriptor, serializer: ProtobufSerializer(),
                    deserializer: ProtobufDeserializer(), options: .defaults
                ) { response in try response.message }
            }
            try await Task.sleep(for: .milliseconds(300))
            let shutdown = clock.now
            await server.group.triggerGracefulShutdown()
            #expect(try await watching.value == [.serving, .notServing])
            await #expect(throws: RPCError.self) { try await halfOpen.value }
            try await server.running.value
            let took = clock.now - shutdown
            #expect(took < .seconds(5), "stopped after \(took)")
        }
    }
}
