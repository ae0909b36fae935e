import AtriumDomain
import Synchronization

/// Bounds how fast one client address may guess keys: after `failuresMax` failed
/// authentications within a minute, its calls are refused (RESOURCE_EXHAUSTED) until the minute
/// is over, before any key is looked up. Counted per host, not per connection, so reconnecting
/// does not reset it. At most `peersMax` hosts are tracked; when full, finished windows are
/// dropped first, and if every window is live the table starts over (an attacker spread over
/// that many addresses gains a minute, no more).
public final class AuthFailureLimiter: Sendable {
    public static let windowMilliseconds: Int64 = 60_000
    public static let peersMax = 10_000

    private struct Window {
        var startedAtMilliseconds: Int64
        var failures: Int
    }

    private let failuresMax: Int
    private let windows = Mutex<[String: Window]>([:])

    /// `failuresMax` 0 turns the limit off.
    public init(failuresMax: Int) {
        precondition(failuresMax >= 0)
        self.failuresMax = failuresMax
    }

    /// Throws RESOURCE_EXHAUSTED while `peer` is over its failures this minute.
    func check(peer: String, atMilliseconds now: Int64) throws(DomainError) {
        guard failuresMax > 0 else { return }
        let host = Self.host(of: peer)
        let blocked = windows.withLock { windows in
            guard let window = windows[host], now - window.startedAtMilliseconds < Self.windowMilliseconds else { return false }
            return window.failures >= failuresMax
        }
        if blocked { throw .resourceExhausted("too many failed authentications from this address; retry in a minute") }
    }

    func recordFailure(peer: String, atMilliseconds now: Int64) {
        guard failuresMax > 0 else { return }
        let host = Self.host(of: peer)
        windows.withLock { windows in
            if var window = windows[host], now - window.startedAtMilliseconds < Self.windowMilliseconds {
                window.failures += 1
                windows[host] = window
                return
            }
            if windows.count >= Self.peersMax {
                windows = windows.filter { now - $0.value.startedAtMilliseconds < Self.windowMilliseconds }
                if windows.count >= Self.peersMax { windows.removeAll(keepingCapacity: true) }
            }
            windows[host] = Window(startedAtMilliseconds: now, failures: 1)
        }
    }

    /// "ipv4:127.0.0.1:50000" → "ipv4:127.0.0.1"; "ipv6:[::1]:50000" → "ipv6:[::1]"; anything
    /// else as it is.
    public static func host(of peer: String) -> String {
        guard peer.hasPrefix("ipv4:") || peer.hasPrefix("ipv6:"), let colon = peer.lastIndex(of: ":"),
            peer[peer.index(after: colon)...].allSatisfy(\.isNumber), colon > peer.index(peer.startIndex, offsetBy: 4)
        else { return peer }
        return String(peer[..<colon])
    }
}
