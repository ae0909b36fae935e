import AtriumProto
import Foundation
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SwiftProtobuf

/// The load phase of `submit` and `floor` with a lean gRPC client: each unary call is written as
/// HTTP/2 frames straight onto its connection's event loop (HEADERS, then one length-prefixed
/// DATA frame), and its response is read back as frames, with no task, stream channel or async
/// sequence per call.
///
/// Why: client, server and PostgreSQL share the machine's cores, and grpc-swift's client spent
/// about 0.33 ms of CPU per call, more than PostgreSQL spent recording the order. pgbench's
/// client, written in C, costs its baseline next to nothing. The server sees the same bytes
/// from either client: real gRPC over HTTP/2, each call checked for its grpc-status.
struct LeanLoad {
    let host: String
    let port: Int
    let connections: Int
    let concurrency: Int

    /// A call the load makes: its kind, its method path, its message.
    struct Request {
        var call: LoadRun.Call
        var path: String
        var message: ByteBuffer
        var authorization: String?
    }

    /// Makes worker `worker`'s `sequence`-th request. Runs on the event loop of the worker's connection.
    typealias RequestSource = @Sendable (_ worker: Int, _ sequence: Int) throws -> Request

    func run(seconds: Int, requests: @escaping RequestSource) async throws -> LoadRun.Stats {
        // One thread: the lean client needs a fraction of a core.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let stats = try await run(on: group, seconds: seconds, requests: requests)
            try await group.shutdownGracefully()
            return stats
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(on group: MultiThreadedEventLoopGroup, seconds: Int, requests: @escaping RequestSource) async throws -> LoadRun.Stats {
        let deadline = NIODeadline.now() + .seconds(Int64(seconds))
        let authority = "\(host):\(port)"
        var results: [EventLoopFuture<LoadRun.Stats>] = []
        for connection in 0..<connections {
            let workers = Array(stride(from: connection, to: concurrency, by: connections))
            let done = group.next().makePromise(of: LoadRun.Stats.self)
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            NIOHTTP2Handler(mode: .client),
                            UnaryCallsHandler(authority: authority, workers: workers, deadline: deadline, requests: requests, done: done),
                        ])
                    }
                }
                .connect(host: host, port: port).get()
            results.append(done.futureResult.always { _ in channel.close(promise: nil) })
        }
        var total = LoadRun.Stats()
        for result in results { total.merge(try await result.get()) }
        return total
    }
}

/// Runs a fixed set of workers on one HTTP/2 connection: each keeps one unary call in flight and
/// starts its next as soon as one ends, until the deadline; then the handler reports its stats.
private final class UnaryCallsHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    private struct InFlight {
        var worker: Int
        var call: LoadRun.Call
        var started: NIODeadline
        var status: Int?
    }

    /// The connection's receive window is the client's to refill (without NIOHTTP2's stream
    /// multiplexer nothing else does): a WINDOW_UPDATE once this much response data arrived.
    private static let windowRefillBytes = 32 * 1024

    private let authority: String
    private let workers: [Int]
    private let deadline: NIODeadline
    private let requests: LeanLoad.RequestSource
    private let done: EventLoopPromise<LoadRun.Stats>
    private var nextStreamID: Int32 = 1
    private var sequences: [Int: Int] = [:]
    private var inFlight: [HTTP2StreamID: InFlight] = [:]
    private var unrefilledBytes = 0
    private var stats = LoadRun.Stats()

    init(authority: String, workers: [Int], deadline: NIODeadline, requests: @escaping LeanLoad.RequestSource, done: EventLoopPromise<LoadRun.Stats>) {
        self.authority = authority
        self.workers = workers
        self.deadline = deadline
        self.requests = requests
        self.done = done
    }

    /// Calls still unanswered this long after the deadline fail the run rather than hang it.
    private static let answerGrace: TimeAmount = .seconds(30)

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        for worker in workers { start(worker, context: context) }
        context.flush()
        let done = done
        let grace = context.eventLoop.scheduleTask(deadline: deadline + Self.answerGrace) {
            done.fail(RPCError(code: .deadlineExceeded, message: "calls still unanswered 30 s after the load ended"))
        }
        done.futureResult.whenComplete { _ in grace.cancel() }
    }

    private func start(_ worker: Int, context: ChannelHandlerContext) {
        let sequence = sequences[worker, default: 0] + 1
        sequences[worker] = sequence
        let request: LeanLoad.Request
        do { request = try requests(worker, sequence) } catch {
            done.fail(error)
            return
        }
        let streamID = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": request.path, ":authority": authority,
            "content-type": "application/grpc", "te": "trailers",
        ]
        if let authorization = request.authorization { headers.add(name: "authorization", value: authorization) }
        var body = context.channel.allocator.buffer(capacity: 5 + request.message.readableBytes)
        body.writeInteger(UInt8(0))
        body.writeInteger(UInt32(request.message.readableBytes))
        body.writeImmutableBuffer(request.message)
        inFlight[streamID] = InFlight(worker: worker, call: request.call, started: .now())
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers)))), promise: nil)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(body), endStream: true)))), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if let status = headers.headers.first(name: "grpc-status") { inFlight[frame.streamID]?.status = Int(status) ?? -1 }
            if headers.endStream { finish(frame.streamID, context: context) }
        case .data(let data):
            unrefilledBytes += data.data.readableBytes
            if unrefilledBytes >= Self.windowRefillBytes {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unrefilledBytes))), promise: nil)
                unrefilledBytes = 0
            }
            if data.endStream { finish(frame.streamID, context: context) }
        case .rstStream:
            finish(frame.streamID, context: context)
        case .goAway:
            done.fail(RPCError(code: .unavailable, message: "the server sent GOAWAY"))
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    /// Records the call (a missing status counts as a reset stream) and starts the worker's next.
    private func finish(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let call = inFlight.removeValue(forKey: streamID) else { return }
        let now = NIODeadline.now()
        switch call.status {
        case 0?:
            stats.record(call.call, microseconds: UInt64((now - call.started).nanoseconds / 1_000))
        case 5? where call.call == .floor:
            // The floor's health check of an unknown service is answered NOT_FOUND, by design.
            stats.record(call.call, microseconds: UInt64((now - call.started).nanoseconds / 1_000))
        case let status?:
            let code = Status.Code(rawValue: status).flatMap(RPCError.Code.init).map { "\($0)" } ?? "status \(status)"
            stats.errors[code, default: 0] += 1
        case nil:
            stats.errors["stream reset", default: 0] += 1
        }
        if now < deadline {
            start(call.worker, context: context)
        } else if inFlight.isEmpty {
            done.succeed(stats)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(RPCError(code: .unavailable, message: "the connection closed"))
        context.fireChannelInactive()
    }
}
