import GRPCCore
import NIOCore
import NIOExtras
import NIOHPACK
import NIOHTTP2

/// Serves the gRPC streams of one HTTP/2 connection from its frames, on the connection's event
/// loop: a request's headers and messages go to the handler's task through one async stream,
/// and its response comes back through a `FrameStreamWriter`. See `FrameServerTransport`.
final class FrameConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    typealias Accept = (FrameServerTransport.Accepted) -> Void

    private struct OpenStream {
        var inbound: AsyncThrowingStream<RPCRequestPart<FrameBytes>, any Error>.Continuation
        var credit: FrameInbound.Credit
        /// Message bytes handed to the handler, and the stream's receive window as last reported.
        var receivedBytes = 0
        var windowBytes: Int
        var cancellation: ServerContext.RPCCancellationHandle
        /// The start of a message whose bytes have not all arrived.
        var partial: ByteBuffer?
        var clientClosed: Bool
        var headersSent = false
    }

    /// Without NIOHTTP2's stream multiplexer the receive windows are this handler's to refill:
    /// NIOHTTP2 reports each change (counting the data of streams it has already closed), and
    /// a window below half its target is topped up to the target; a stream's only as far as its
    /// handler has read (`FrameInbound`).
    private static let connectionWindowBytes = 1 << 20

    private let limits: FrameServerTransport.Limits
    private let accept: Accept
    private var streams: [HTTP2StreamID: OpenStream] = [:]
    private var lastStreamID: HTTP2StreamID = .rootStream
    private var quiescing = false
    private var context: ChannelHandlerContext?
    private var peers = (remote: "unknown", local: "unknown")

    init(limits: FrameServerTransport.Limits, accept: @escaping Accept) {
        self.limits = limits
        self.accept = accept
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peers = (Self.describe(context.channel.remoteAddress), Self.describe(context.channel.localAddress))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers): receive(headers.headers, endStream: headers.endStream, on: frame.streamID, context: context)
        case .data(let data): receive(data, on: frame.streamID, context: context)
        case .rstStream: abandon(frame.streamID, RPCError(code: .cancelled, message: "the client reset the stream"))
        default: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for id in Array(streams.keys) { abandon(id, RPCError(code: .unavailable, message: "the connection closed")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // HTTP/2 protocol errors: NIOHTTP2 has answered with GOAWAY where it should.
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let update = event as? NIOHTTP2WindowUpdatedEvent, let window = update.inboundWindowSize {
            refill(update.streamID, window: window, context: context)
        }
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))), promise: nil)
        closeIfDrained()
    }

    // MARK: Requests

    private func receive(_ headers: HPACKHeaders, endStream: Bool, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        if streams[streamID] != nil {
            // Trailers from the client end its side of the stream.
            return endInbound(streamID)
        }
        // A stream this handler has already answered and forgotten: its late trailers end nothing.
        guard streamID > lastStreamID else { return }
        guard !quiescing else {
            return context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.refusedStream))), promise: nil)
        }
        lastStreamID = max(lastStreamID, streamID)
        let descriptor: MethodDescriptor
        switch GRPCHeaders.method(of: headers) {
        case .failure(let refusal):
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: refusal.headers, endStream: true)))), promise: nil)
            if !endStream { context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError))), promise: nil) }
            return
        case .success(let method):
            descriptor = method
        }
        let (inbound, continuation) = AsyncThrowingStream.makeStream(of: RPCRequestPart<FrameBytes>.self, throwing: (any Error).self)
        continuation.yield(.metadata(GRPCHeaders.metadata(headers)))
        if endStream { continuation.finish() }
        let cancellation = ServerContext.RPCCancellationHandle()
        let credit = FrameInbound.Credit()
        streams[streamID] = OpenStream(
            inbound: continuation, credit: credit, windowBytes: limits.streamWindowBytes, cancellation: cancellation, clientClosed: endStream)
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let writer = FrameStreamWriter(streamID: streamID, connection: connection)
        let parts = FrameInbound(parts: inbound, credit: credit) {
            connection.eventLoop.execute { connection.value.refillStream(streamID) }
        }
        let stream = RPCStream(descriptor: descriptor, inbound: RPCAsyncSequence(wrapping: parts), outbound: RPCWriter.Closable(wrapping: writer))
        accept(FrameServerTransport.Accepted(
            stream: stream, context: ServerContext(descriptor: descriptor, remotePeer: peers.remote, localPeer: peers.local, cancellation: cancellation)))
    }

    private func receive(_ data: HTTP2Frame.FramePayload.Data, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard case .byteBuffer(var bytes) = data.data else { return }
        guard var stream = streams[streamID], !stream.clientClosed else { return }
        if var partial = stream.partial {
            partial.writeBuffer(&bytes)
            bytes = partial
        }
        // A message: a compressed flag (one byte), its length (four, big-endian), its bytes.
        while let compressed = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
              let length = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt32.self).map(Int.init) {
            guard compressed == 0 else {
                return refuse(streamID, Status(code: .internalError, message: "a compressed message without grpc-encoding"), context: context)
            }
            guard length <= limits.requestPayloadBytesMax else {
                return refuse(streamID, Status(code: .resourceExhausted, message: "a message of \(length) bytes; the limit is \(limits.requestPayloadBytesMax)"), context: context)
            }
            guard bytes.readableBytes >= 5 + length, let message = bytes.getSlice(at: bytes.readerIndex + 5, length: length) else { break }
            bytes.moveReaderIndex(forwardBy: 5 + length)
            stream.receivedBytes += length
            stream.inbound.yield(.message(FrameBytes(message)))
        }
        stream.partial = bytes.readableBytes > 0 ? bytes : nil
        streams[streamID] = stream
        guard data.endStream else { return }
        guard stream.partial == nil else {
            return refuse(streamID, Status(code: .internalError, message: "the request ended inside a message"), context: context)
        }
        endInbound(streamID)
    }

    private func refill(_ streamID: HTTP2StreamID, window: Int, context: ChannelHandlerContext) {
        guard streamID != .rootStream else {
            let target = Self.connectionWindowBytes
            guard window < target / 2 else { return }
            return context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: target - window))), promise: nil)
        }
        guard var stream = streams[streamID] else { return }
        stream.windowBytes = window
        streams[streamID] = stream
        refillStream(streamID)
    }

    /// Tops a stream's window up to its target once it is below half, unless the handler is more
    /// than half a window behind the data already sent (then its next read calls this again).
    func refillStream(_ streamID: HTTP2StreamID) {
        let target = limits.streamWindowBytes
        guard let context, var stream = streams[streamID], !stream.clientClosed, stream.windowBytes < target / 2,
              stream.credit.mayRefill(receivedBytes: stream.receivedBytes, aheadBytesMax: target / 2) else { return }
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: target - stream.windowBytes))), promise: nil)
        stream.windowBytes = target
        streams[streamID] = stream
    }

    private func endInbound(_ streamID: HTTP2StreamID) {
        guard var stream = streams[streamID], !stream.clientClosed else { return }
        stream.clientClosed = true
        stream.inbound.finish()
        streams[streamID] = stream
    }

    /// Answers a request the transport cannot pass on, and tells its handler it is over.
    private func refuse(_ streamID: HTTP2StreamID, _ status: Status, context: ChannelHandlerContext) {
        guard let stream = streams[streamID] else { return }
        let trailers = GRPCHeaders.trailers(status, trailersOnly: !stream.headersSent)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: trailers, endStream: true)))), promise: nil)
        abandon(streamID, RPCError(code: RPCError.Code(status.code) ?? .internalError, message: status.message))
        if !stream.clientClosed { context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError))), promise: nil) }
    }

    /// Forgets a stream whose answer can no longer be sent, and cancels its handler.
    private func abandon(_ streamID: HTTP2StreamID, _ error: RPCError) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        stream.inbound.finish(throwing: error)
        stream.cancellation.cancel()
        closeIfDrained()
    }

    // MARK: Responses

    /// Writes what a stream's handler wrote, in order; called on the event loop.
    func send(_ parts: [FrameStreamWriter.Part], on streamID: HTTP2StreamID) {
        guard let context else { return }
        for part in parts {
            guard var stream = streams[streamID] else { break }
            switch part {
            case .response(.metadata(let metadata)):
                guard !stream.headersSent else { continue }
                stream.headersSent = true
                streams[streamID] = stream
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: GRPCHeaders.responseHeaders(metadata))))), promise: nil)
            case .response(.message(let message)):
                if !stream.headersSent {
                    stream.headersSent = true
                    streams[streamID] = stream
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: GRPCHeaders.responseHeaders([:]))))), promise: nil)
                }
                var framed = context.channel.allocator.buffer(capacity: 5 + message.count)
                framed.writeInteger(UInt8(0))
                framed.writeInteger(UInt32(message.count))
                framed.writeImmutableBuffer(message.buffer)
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(framed))))), promise: nil)
            case .response(.status(let status, let metadata)):
                close(streamID, stream, GRPCHeaders.trailers(status, metadata: metadata, trailersOnly: !stream.headersSent), context: context)
            case .finish(let error):
                let status = error.map { Status(code: Status.Code($0.code), message: $0.message) } ?? Status(code: .unknown, message: "the handler ended without a status")
                close(streamID, stream, GRPCHeaders.trailers(status, metadata: error?.metadata ?? [:], trailersOnly: !stream.headersSent), context: context)
            }
        }
        context.flush()
    }

    private func close(_ streamID: HTTP2StreamID, _ stream: OpenStream, _ trailers: HPACKHeaders, context: ChannelHandlerContext) {
        streams[streamID] = nil
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: trailers, endStream: true)))), promise: nil)
        if !stream.clientClosed {
            stream.inbound.finish()
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError))), promise: nil)
        }
        closeIfDrained()
    }

    private func closeIfDrained() {
        guard quiescing, streams.isEmpty, let context else { return }
        context.flush()
        context.close(promise: nil)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let a): "ipv4:\(a.host):\(address?.port ?? 0)"
        case .v6(let a): "ipv6:[\(a.host)]:\(address?.port ?? 0)"
        case .unixDomainSocket: "unix:\(address?.pathname ?? "")"
        case nil: "unknown"
        }
    }
}
