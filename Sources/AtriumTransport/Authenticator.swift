import AtriumDomain
import AtriumStore
import Foundation
import Synchronization

/// Resolves bearer tokens to principals, with a short-lived cache so a busy till does not cost a
/// database round trip per call. A revocation on this server takes effect at once; on another
/// replica within `cacheTTLMilliseconds`. A key that is not known is remembered as unknown for
/// `unknownKeyCacheMilliseconds`, so repeating it costs no transaction either, and each client
/// address may fail only so often a minute (`AuthFailureLimiter`).
public final class Authenticator: Sendable {
    public static let cacheEntriesMax = 10_000
    public static let unknownKeyCacheMilliseconds: Int64 = 2_000

    private struct Entry {
        /// nil: the key is unknown or revoked.
        var principal: Principal?
        var expiresAtMilliseconds: Int64
    }

    private let credentials: CredentialStore
    private let cacheTTLMilliseconds: Int64
    private let limiter: AuthFailureLimiter
    private let now: @Sendable () -> Int64
    private let cache = Mutex<[Data: Entry]>([:])

    public init(credentials: CredentialStore, cacheTTLMilliseconds: Int64, limiter: AuthFailureLimiter, now: @escaping @Sendable () -> Int64) {
        self.credentials = credentials
        self.cacheTTLMilliseconds = cacheTTLMilliseconds
        self.limiter = limiter
        self.now = now
    }

    /// `peer`: the client's address (`ServerContext.remotePeer`), for the failure limit.
    public func authenticate(token: String, peer: String) async throws -> Principal {
        let at = now()
        try limiter.check(peer: peer, atMilliseconds: at)
        guard !token.isEmpty, token.utf8.count <= Keys.tokenLengthMax, Keys.parse(token) != nil else {
            limiter.recordFailure(peer: peer, atMilliseconds: at)
            throw DomainError.unauthenticated("unknown API key")
        }
        let hash = Hashing.sha256(token)
        if let hit = cache.withLock({ $0[hash] }), hit.expiresAtMilliseconds > at {
            guard let principal = hit.principal else {
                limiter.recordFailure(peer: peer, atMilliseconds: at)
                throw DomainError.unauthenticated("unknown or revoked API key")
            }
            return principal
        }
        let principal = try await credentials.authenticate(token: token)
        let ttl = principal == nil ? Self.unknownKeyCacheMilliseconds : cacheTTLMilliseconds
        cache.withLock { entries in
            guard ttl > 0 else { return entries[hash] = nil }
            if entries.count >= Self.cacheEntriesMax { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(principal: principal, expiresAtMilliseconds: at + ttl)
        }
        guard let principal else {
            limiter.recordFailure(peer: peer, atMilliseconds: at)
            throw DomainError.unauthenticated("unknown or revoked API key")
        }
        return principal
    }

    /// Forgets a revoked key at once.
    public func forget(mallId: Int64, keyId: Int64) {
        cache.withLock { entries in
            entries = entries.filter { !($0.value.principal?.mallId == mallId && $0.value.principal?.keyId == keyId) }
        }
    }
}
