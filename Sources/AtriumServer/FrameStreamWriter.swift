import GRPCCore
import NIOCore
import NIOHTTP2
import Synchronization

/// The response side of one RPC on `FrameServerTransport`: parts written by the handler's task
/// are handed to the connection's event loop, and parts written in one burst (a unary call's
/// metadata, message and status) cross over in one hop and leave in one flush.
final class FrameStreamWriter: ClosableRPCWriterProtocol, Sendable {
    typealias Element = RPCResponsePart<FrameBytes>

    enum Part: Sendable {
        case response(RPCResponsePart<FrameBytes>)
        /// The handler is done; `error` when it ended by throwing.
        case finish(RPCError?)
    }

    private struct Pending: Sendable {
        var parts: [Part] = []
        var scheduled = false
    }

    private let streamID: HTTP2StreamID
    private let connection: NIOLoopBound<FrameConnectionHandler>
    private let pending = Mutex(Pending())

    init(streamID: HTTP2StreamID, connection: NIOLoopBound<FrameConnectionHandler>) {
        self.streamID = streamID
        self.connection = connection
    }

    func write(_ element: Element) async throws {
        enqueue(.response(element))
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { enqueue(.response(element)) }
    }

    func finish() async {
        enqueue(.finish(nil))
    }

    func finish(throwing error: any Error) async {
        enqueue(.finish(error as? RPCError ?? RPCError(code: .unknown, message: "the handler failed")))
    }

    private func enqueue(_ part: Part) {
        let schedule = pending.withLock { pending in
            pending.parts.append(part)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        guard schedule else { return }
        connection.eventLoop.execute { [self] in
            let parts = pending.withLock { pending in
                defer { pending = Pending() }
                return pending.parts
            }
            connection.value.send(parts, on: streamID)
        }
    }
}
