import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization
import Testing

/// `FrameServerTransport` against grpc-swift's own client, with a probe service of raw-byte
/// methods: what the whole service relies on (messages, metadata, statuses), and what its RPCs
/// rarely exercise (flow control past the windows, limits, compression, cancellation, drain).
@Suite("The frame transport speaks gRPC", .timeLimit(.minutes(1)))
struct FrameTransportTests {
    @Test func aCallCarriesItsMessageMetadataAndTrailers() async throws {
        try await ProbeServer.run { probe in
            let sent: [UInt8] = [0, 1, 2, 254, 255]
            let (message, metadata, trailers) = try await probe.client.unary(
                request: ClientRequest(message: sent, metadata: ["x-text": "mall 7", "x-data-bin": .binary([0, 1, 2, 255])]),
                descriptor: ProbeService.echo, serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
            ) { response in
                let accepted = try response.accepted.get()
                return (try response.message, accepted.metadata, accepted.trailingMetadata)
            }
            #expect(message == sent)
            #expect(Array(metadata[stringValues: "x-text"]) == ["mall 7"])
            #expect(Array(metadata[binaryValues: "x-data-bin"]) == [[0, 1, 2, 255]])
            #expect(Array(trailers[stringValues: "x-trailer"]) == ["done"])
        }
    }

    @Test func aHandlersErrorArrivesWithItsCodeAndExactMessage() async throws {
        try await ProbeServer.run { probe in
            let error = await #expect(throws: RPCError.self) { try await probe.call(ProbeService.fail, []) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.message == "not 100% ready: ünïcode")
        }
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        try await ProbeServer.run { probe in
            let missing = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Missing")
            let error = await #expect(throws: RPCError.self) { try await probe.call(missing, [1]) }
            #expect(error?.code == .unimplemented)
        }
    }

    /// 1,000,000 bytes in five messages: past the connection's 65,535-byte window and the
    /// stream's window, both of which the transport must refill as it reads.
    @Test func aStreamOfMessagesLargerThanTheWindowsArrivesWhole() async throws {
        try await ProbeServer.run { probe in
            let chunk = [UInt8](repeating: 7, count: 200_000)
            let total = try await probe.client.clientStreaming(
                request: StreamingClientRequest(of: [UInt8].self) { writer in
                    for _ in 0..<5 { try await writer.write(chunk) }
                },
                descriptor: ProbeService.count, serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
            ) { response in try response.message }
            #expect(total == ProbeService.bigEndian(1_000_000))
        }
    }

    /// A handler that reads nothing holds its client back: the stream's window is refilled only
    /// for bytes the handler took, so the server buffers about a window (512 KiB here) instead
    /// of whatever the client sends. A raw HTTP/2 client offers 4 MiB and counts the window the
    /// server grants the stream beyond the initial one.
    @Test func aClientStreamingIntoAHandlerThatDoesNotReadIsHeldBack() async throws {
        try await ProbeServer.run { probe in
            let port = try await probe.server.transport.listeningPort
            let granted = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([NIOHTTP2Handler(mode: .client), StreamGrantsHandler()])
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            let stream = HTTP2StreamID(1)
            let headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": "/probe.Probe/Hold", ":authority": "probe", "content-type": "application/grpc", "te": "trailers",
            ]
            channel.write(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers))), promise: nil)
            // 64 messages of 64 KiB; NIOHTTP2 sends them as the server's windows allow.
            for _ in 0..<64 {
                var message = channel.allocator.buffer(capacity: 5 + 65_536)
                message.writeInteger(UInt8(0))
                message.writeInteger(UInt32(65_536))
                message.writeRepeatingByte(1, count: 65_536)
                channel.write(HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(message)))), promise: nil)
            }
            channel.flush()
            try await probe.service.events.next(is: "held")
            try await Task.sleep(for: .seconds(1.5))
            channel.pipeline.handler(type: StreamGrantsHandler.self).whenSuccess { granted.succeed($0.grantedBytes) }
            let bytes = try await granted.futureResult.get()
            try await channel.close()
            #expect(bytes < 1 << 20, "4 MiB offered to a handler that reads nothing; the server granted \(bytes) bytes more")
        }
    }

    @Test func aMessageOverTheLimitIsRefusedBeforeAnyHandlerSeesIt() async throws {
        try await ProbeServer.run { probe in
            let error = await #expect(throws: RPCError.self) {
                try await probe.call(ProbeService.echo, [UInt8](repeating: 1, count: ProbeServer.payloadBytesMax + 1))
            }
            #expect(error?.code == .resourceExhausted)
            #expect(probe.service.echoed.value == 0)
            // The connection still serves.
            let echo = try await probe.call(ProbeService.echo, [9])
            #expect(echo == [9])
        }
    }

    @Test func aCompressedRequestIsUnimplemented() async throws {
        try await ProbeServer.run { probe in
            var options = CallOptions.defaults
            options.compression = .gzip
            let error = await #expect(throws: RPCError.self) { try await probe.call(ProbeService.echo, [1, 2, 3], options: options) }
            #expect(error?.code == .unimplemented)
            #expect(probe.service.echoed.value == 0)
        }
    }

    @Test func aClientThatCancelsItsCallCancelsTheHandler() async throws {
        try await ProbeServer.run { probe in
            let call = Task { try await probe.call(ProbeService.hold, []) }
            try await probe.service.events.next(is: "held")
            call.cancel()
            try await probe.service.events.next(is: "cancelled")
            _ = await call.result
        }
    }

    @Test func aGracefulShutdownLetsTheCallsInFlightFinish() async throws {
        try await ProbeServer.run { probe in
            let call = Task { try await probe.call(ProbeService.slow, [42]) }
            try await probe.service.events.next(is: "slow")
            probe.server.beginGracefulShutdown()
            let answer = try await call.value
            #expect(answer == [42])
            try await probe.served.value
        }
    }
}

/// Raw bytes in, raw bytes out.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

/// The probe's methods; `events` reports what handlers saw, in order.
struct ProbeService: RegistrableRPCService {
    static let echo = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Echo")
    static let fail = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Fail")
    static let count = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Count")
    static let hold = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Hold")
    static let slow = MethodDescriptor(fullyQualifiedService: "probe.Probe", method: "Slow")

    let events = Events()
    /// Echo calls that reached the handler.
    let echoed = Counter()

    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.echo, deserializer: RawBytes(), serializer: RawBytes()) { [echoed] request, _ in
            var message: [UInt8] = []
            for try await part in request.messages { message = part }
            echoed.add()
            var metadata = Metadata()
            for value in request.metadata[stringValues: "x-text"] { metadata.addString(value, forKey: "x-text") }
            for value in request.metadata[binaryValues: "x-data-bin"] { metadata.addBinary(value, forKey: "x-data-bin") }
            return StreamingServerResponse(single: ServerResponse(message: message, metadata: metadata, trailingMetadata: ["x-trailer": "done"]))
        }
        router.registerHandler(forMethod: Self.fail, deserializer: RawBytes(), serializer: RawBytes()) { _, _ in
            throw RPCError(code: .failedPrecondition, message: "not 100% ready: ünïcode")
        }
        router.registerHandler(forMethod: Self.count, deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            var total: UInt64 = 0
            for try await part in request.messages { total += UInt64(part.count) }
            return StreamingServerResponse(single: ServerResponse(message: Self.bigEndian(total)))
        }
        router.registerHandler(forMethod: Self.hold, deserializer: RawBytes(), serializer: RawBytes()) { [events] _, context in
            events.send("held")
            for _ in 0..<1_000 where !context.cancellation.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            events.send(context.cancellation.isCancelled ? "cancelled" : "not cancelled")
            return StreamingServerResponse(single: ServerResponse(message: []))
        }
        router.registerHandler(forMethod: Self.slow, deserializer: RawBytes(), serializer: RawBytes()) { [events] request, _ in
            var message: [UInt8] = []
            for try await part in request.messages { message = part }
            events.send("slow")
            try await Task.sleep(for: .milliseconds(300))
            return StreamingServerResponse(single: ServerResponse(message: message))
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    final class Events: Sendable {
        private let stream: AsyncStream<String>
        private let continuation: AsyncStream<String>.Continuation

        init() {
            (stream, continuation) = AsyncStream.makeStream(of: String.self)
        }

        func send(_ event: String) { continuation.yield(event) }

        /// Waits up to five seconds for the next event and checks it.
        func next(is expected: String) async throws {
            let stream = stream
            let event = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    var iterator = stream.makeAsyncIterator()
                    return await iterator.next()
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(5))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(event == expected)
        }
    }
}

/// A probe server on a free port and a client of it, for one test.
struct ProbeServer {
    static let payloadBytesMax = 512 * 1024

    let server: GRPCServer<FrameServerTransport>
    let service: ProbeService
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let served: Task<Void, any Error>

    func call(_ method: MethodDescriptor, _ message: [UInt8], options: CallOptions = .defaults) async throws -> [UInt8] {
        try await client.unary(
            request: ClientRequest(message: message), descriptor: method, serializer: RawBytes(), deserializer: RawBytes(), options: options
        ) { response in try response.message }
    }

    static func run(_ body: (ProbeServer) async throws -> Void) async throws {
        let transport = FrameServerTransport(
            host: "127.0.0.1", port: 0, limits: .init(requestPayloadBytesMax: payloadBytesMax, concurrentStreamsMax: 16))
        let service = ProbeService()
        let server = GRPCServer(transport: transport, services: [service])
        let served = Task { try await server.serve() }
        let port = try await transport.listeningPort
        let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { $0.compression.enabledAlgorithms = [.gzip] }))
        let connections = Task { try await client.runConnections() }
        defer {
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
            connections.cancel()
        }
        try await body(ProbeServer(server: server, service: service, client: client, served: served))
    }
}

/// Sums the window the server grants stream 1 in WINDOW_UPDATE frames.
private final class StreamGrantsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    private(set) var grantedBytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.streamID == HTTP2StreamID(1), case .windowUpdate(let increment) = frame.payload { grantedBytes += increment }
    }
}
