import GRPCCore
import Synchronization

/// The request parts of one stream as its handler reads them, counting the message bytes it has
/// taken, so the connection refills the stream's window only for data the handler has consumed:
/// a client cannot make the server buffer more than half a window per stream ahead of its
/// handler. A handler that catches up with a stream held back wakes the connection (`resume`).
struct FrameInbound: AsyncSequence, Sendable {
    typealias Element = RPCRequestPart<FrameBytes>

    /// Shared by the handler's task and the connection's event loop.
    final class Credit: Sendable {
        private struct State {
            var consumedBytes = 0
            var heldBack = false
        }

        private let state = Mutex(State())

        /// Whether the event loop may refill now; when not, the next consumption calls `resume`.
        func mayRefill(receivedBytes: Int, aheadBytesMax: Int) -> Bool {
            state.withLock { state in
                state.heldBack = receivedBytes - state.consumedBytes > aheadBytesMax
                return !state.heldBack
            }
        }

        /// Counts bytes the handler took; true when the stream was held back and may go on.
        func consumed(_ bytes: Int) -> Bool {
            state.withLock { state in
                state.consumedBytes += bytes
                defer { state.heldBack = false }
                return state.heldBack
            }
        }
    }

    let parts: AsyncThrowingStream<Element, any Error>
    let credit: Credit
    let resume: @Sendable () -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var parts: AsyncThrowingStream<Element, any Error>.AsyncIterator
        let credit: Credit
        let resume: @Sendable () -> Void

        mutating func next() async throws -> Element? {
            let part = try await parts.next()
            if case .message(let bytes) = part, credit.consumed(bytes.count) { resume() }
            return part
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(parts: parts.makeAsyncIterator(), credit: credit, resume: resume)
    }
}
