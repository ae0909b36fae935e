import GRPCCore

/// Calls `body` again, as a till does, while it answers ABORTED (a lock wait past the server's
/// limit: "retry"), at most `attempts` times. The call's own keys make the retry safe: it must
/// change nothing that the first attempt recorded.
func retryingAborted<Result: Sendable>(attempts: Int = 20, _ body: () async throws -> Result) async throws -> Result {
    precondition(attempts > 0)
    for _ in 1..<attempts {
        do {
            return try await body()
        } catch let error as RPCError where error.code == .aborted {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
    return try await body()
}
