import AtriumDomain
import Synchronization

/// The merchant contexts (status, category, rule, mall settings) and the campaigns that every
/// SubmitOrder batch reads, kept per mall for `ttl`: two round trips fewer per batch.
///
/// A change made through this server (rules, campaigns, merchant status or settings) drops its
/// mall's entry as soon as it commits, so it applies to the next order. A change made through
/// another server applies here within `ttl`. A generation counter per mall keeps a load that
/// began before a change from caching what it read. Campaign budgets are never cached: a batch
/// reads the spend of budgeted campaigns under their row locks.
public final class RulesCache: Sendable {
    public static let defaultTTL: Duration = .seconds(2)

    struct Stamped<Value: Sendable>: Sendable {
        var value: Value
        var loadedAt: ContinuousClock.Instant
    }

    private struct MallEntry: Sendable {
        var generation = 0
        var contexts: [Int64: Stamped<OrderContext>] = [:]
        var campaigns: Stamped<[Campaign]>?
    }

    let ttl: Duration
    private let malls = Mutex<[Int64: MallEntry]>([:])

    public init(ttl: Duration = RulesCache.defaultTTL) {
        self.ttl = ttl
    }

    /// Forgets what is cached for the mall; call after a change to its rules has committed.
    public func invalidate(mallId: Int64) {
        malls.withLock { malls in
            malls[mallId, default: MallEntry()].generation += 1
            malls[mallId]?.contexts = [:]
            malls[mallId]?.campaigns = nil
        }
    }

    /// The mall's generation, to hand back when storing what was loaded after reading it.
    func generation(mallId: Int64) -> Int {
        malls.withLock { $0[mallId]?.generation ?? 0 }
    }

    func contexts(mallId: Int64, merchantIds: [Int64], now: ContinuousClock.Instant) -> [Int64: OrderContext] {
        malls.withLock { malls in
            guard let entry = malls[mallId] else { return [:] }
            var found: [Int64: OrderContext] = [:]
            for id in merchantIds {
                if let stamped = entry.contexts[id], now - stamped.loadedAt < ttl { found[id] = stamped.value }
            }
            return found
        }
    }

    func store(mallId: Int64, contexts: [Int64: OrderContext], generation: Int, at instant: ContinuousClock.Instant) {
        malls.withLock { malls in
            var entry = malls[mallId] ?? MallEntry()
            guard entry.generation == generation else { return }
            for (id, context) in contexts { entry.contexts[id] = Stamped(value: context, loadedAt: instant) }
            malls[mallId] = entry
        }
    }

    func campaigns(mallId: Int64, now: ContinuousClock.Instant) -> [Campaign]? {
        malls.withLock { malls in
            guard let stamped = malls[mallId]?.campaigns, now - stamped.loadedAt < ttl else { return nil }
            return stamped.value
        }
    }

    func store(mallId: Int64, campaigns: [Campaign], generation: Int, at instant: ContinuousClock.Instant) {
        malls.withLock { malls in
            var entry = malls[mallId] ?? MallEntry()
            guard entry.generation == generation else { return }
            entry.campaigns = Stamped(value: campaigns, loadedAt: instant)
            malls[mallId] = entry
        }
    }
}
