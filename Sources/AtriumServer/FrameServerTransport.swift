import GRPCCore
import NIOCore
import NIOExtras
import NIOHTTP2
import NIOPosix
import Synchronization

/// A gRPC server transport (plaintext HTTP/2) that serves each connection from its frames in
/// one channel handler on the connection's event loop.
///
/// Why not grpc-swift's `HTTP2ServerTransport.Posix`: it gives every RPC an HTTP/2 stream
/// channel and wraps it in an async channel (a producer, a writer and their state machines),
/// and on the two cores the till shares with PostgreSQL that plumbing cost about a third of the
/// server's CPU per SubmitOrder. Here an RPC costs one async stream of request parts, one
/// writer that hands the response to the event loop in a single hop, and the task that runs
/// the handler, as before, under grpc-swift's own server (routing, interceptors, deadlines).
///
/// What it does: validates the request headers as PROTOCOL-HTTP2 says (415 for a foreign
/// content type, UNIMPLEMENTED for compression, which the service does not use, or a bad path),
/// limits messages to `Limits.requestPayloadBytesMax`, refills flow-control windows as it reads,
/// cancels a handler whose client reset its stream or connection, and on graceful shutdown sends
/// GOAWAY and closes each connection once its streams have answered. What it leaves out: TLS
/// (terminated in front of the service), compression, and idle or keepalive timeouts.
public final class FrameServerTransport: ServerTransport {
    public typealias Bytes = FrameBytes

    public struct Limits: Sendable {
        public var requestPayloadBytesMax: Int
        public var concurrentStreamsMax: Int
        public var headerListBytesMax = 16 * 1024

        public init(requestPayloadBytesMax: Int, concurrentStreamsMax: Int) {
            precondition(requestPayloadBytesMax > 0 && requestPayloadBytesMax < Int(Int32.max) - 5 && concurrentStreamsMax > 0)
            self.requestPayloadBytesMax = requestPayloadBytesMax
            self.concurrentStreamsMax = concurrentStreamsMax
        }

        /// A stream's window holds a whole message, so a unary request never waits for an update.
        var streamWindowBytes: Int { requestPayloadBytesMax + 5 }

        var settings: HTTP2Settings {
            [
                HTTP2Setting(parameter: .maxConcurrentStreams, value: concurrentStreamsMax),
                HTTP2Setting(parameter: .initialWindowSize, value: streamWindowBytes),
                HTTP2Setting(parameter: .maxHeaderListSize, value: headerListBytesMax),
            ]
        }
    }

    /// An RPC the connection handler passes to `listen`'s task group.
    struct Accepted: Sendable {
        var stream: RPCStream<Inbound, Outbound>
        var context: ServerContext
    }

    private struct Listening: Sendable {
        var quiescing: ServerQuiescingHelper
        var acceptor: AsyncStream<Accepted>.Continuation
    }

    private enum State: Sendable {
        case idle
        case listening(Listening)
        case stopping
    }

    private let host: String
    private let port: Int
    private let limits: Limits
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(State.idle)
    private let boundPort: EventLoopPromise<Int>

    public init(host: String, port: Int, limits: Limits, group: MultiThreadedEventLoopGroup = .singleton) {
        self.host = host
        self.port = port
        self.limits = limits
        self.group = group
        boundPort = group.any().makePromise(of: Int.self)
    }

    deinit {
        boundPort.fail(CancellationError())
    }

    /// The port the transport listens on, once it does.
    public var listeningPort: Int {
        get async throws { try await boundPort.futureResult.get() }
    }

    public func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        let (accepted, acceptor) = AsyncStream.makeStream(of: Accepted.self)
        let quiescing = ServerQuiescingHelper(group: group)
        let limits = limits
        let server: any Channel
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel)) }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            NIOHTTP2Handler(mode: .server, initialSettings: limits.settings),
                            FrameConnectionHandler(limits: limits, accept: { acceptor.yield($0) }),
                        ])
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            boundPort.fail(error)
            throw error
        }
        boundPort.succeed(server.localAddress?.port ?? 0)
        let stopRequested = state.withLock { state in
            guard case .idle = state else { return true }
            state = .listening(Listening(quiescing: quiescing, acceptor: acceptor))
            return false
        }
        if stopRequested { Self.stop(quiescing, acceptor) }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { rpcs in
                for await rpc in accepted {
                    rpcs.addTask { await streamHandler(rpc.stream, rpc.context) }
                }
            }
        } onCancel: {
            beginGracefulShutdown()
        }
    }

    /// Stops accepting connections; each open connection gets GOAWAY and closes once its streams
    /// have answered; `listen` returns when the last has.
    public func beginGracefulShutdown() {
        let listening = state.withLock { state -> Listening? in
            defer { state = .stopping }
            guard case .listening(let listening) = state else { return nil }
            return listening
        }
        if let listening { Self.stop(listening.quiescing, listening.acceptor) }
    }

    /// Closes the listener and quiesces every connection; the stream of RPCs ends once they have
    /// all closed.
    private static func stop(_ quiescing: ServerQuiescingHelper, _ acceptor: AsyncStream<Accepted>.Continuation) {
        let closed = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
        closed.futureResult.whenComplete { _ in acceptor.finish() }
        quiescing.initiateShutdown(promise: closed)
    }
}
