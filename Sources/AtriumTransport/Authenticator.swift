import AtriumDomain
import AtriumStore
import Foundation
import Synchronization

/// Resolves bearer tokens to principals, with a short-lived cache so a busy till does not cost a
/// database round trip per call. A revocation on this server takes effect at once; on another
/// replica within `cacheTTLMilliseconds`.
public final class Authenticator: Sendable {
    public static let cacheEntriesMax = 10_000

    private struct Entry {
        var principal: Principal
        var expiresAtMilliseconds: Int64
    }

    private let credentials: CredentialStore
    private let cacheTTLMilliseconds: Int64
    private let now: @Sendable () -> Int64
    private let cache = Mutex<[Data: Entry]>([:])

    public init(credentials: CredentialStore, cacheTTLMilliseconds: Int64, now: @escaping @Sendable () -> Int64) {
        self.credentials = credentials
        self.cacheTTLMilliseconds = cacheTTLMilliseconds
        self.now = now
    }

    public func authenticate(token: String) async throws -> Principal {
        guard !token.isEmpty, token.utf8.count <= Keys.tokenLengthMax, Keys.parse(token) != nil else {
            throw DomainError.unauthenticated("unknown API key")
        }
        let hash = Hashing.sha256(token)
        let at = now()
        if let hit = cache.withLock({ $0[hash] }), hit.expiresAtMilliseconds > at { return hit.principal }
        guard let principal = try await credentials.authenticate(token: token) else {
            cache.withLock { _ = $0.removeValue(forKey: hash) }
            throw DomainError.unauthenticated("unknown or revoked API key")
        }
        if cacheTTLMilliseconds > 0 {
            cache.withLock { entries in
                if entries.count >= Self.cacheEntriesMax { entries.removeAll(keepingCapacity: true) }
                entries[hash] = Entry(principal: principal, expiresAtMilliseconds: at + cacheTTLMilliseconds)
            }
        }
        return principal
    }

    /// Forgets a revoked key at once.
    public func forget(mallId: Int64, keyId: Int64) {
        cache.withLock { entries in
            entries = entries.filter { !($0.value.principal.mallId == mallId && $0.value.principal.keyId == keyId) }
        }
    }
}
