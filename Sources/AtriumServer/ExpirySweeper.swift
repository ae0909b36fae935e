import AtriumDomain
import AtriumStore
import Foundation
import Logging

/// Expires due points of every mall by itself: DOMAIN.md's "expiry runs automatically".
///
/// Every `interval` it walks all malls and runs `ExpiryStore.expireDue` for each until nothing
/// is due. Each replica runs its own sweeper and no leader is needed: a replica sweeps a mall only
/// while it holds the mall's lease (`JobLeaseStore`), so replicas split the malls between them,
/// and a lot would expire exactly once even without it (see `ExpiryStore`). A failing mall is
/// logged and retried on the next round; it does not stop the others.
public struct ExpirySweeper: Sendable {
    static let mallsPageSize = 500
    /// Renewed before every call of `expireDue`, which stops after `Limits.expiryCallBudgetSeconds`.
    static let lease: Duration = .seconds(Limits.expiryCallBudgetSeconds * 3)

    let malls: MallStore
    let expiry: ExpiryStore
    let leases: JobLeaseStore
    /// This replica, as its leases name it.
    let holder: String
    let interval: Duration
    let now: @Sendable () -> Int64
    let logger: Logger

    public init(
        malls: MallStore, expiry: ExpiryStore, leases: JobLeaseStore, holder: String = ExpirySweeper.replicaName(), interval: Duration,
        now: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.malls = malls
        self.expiry = expiry
        self.leases = leases
        self.holder = holder
        self.interval = interval
        self.now = now
        self.logger = logger
    }

    /// Host, process and a random part: unique among replicas, readable in `mall_jobs`.
    public static func replicaName() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await sweep()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// One round over every mall.
    func sweep() async {
        var afterId: Int64 = 0
        while !Task.isCancelled {
            let page: [MallRow]
            do {
                page = try await malls.listMalls(afterId: afterId, limit: Self.mallsPageSize)
            } catch {
                logger.warning("expiry sweep could not list malls", metadata: ["error": "\(String(reflecting: error))"])
                return
            }
            for mall in page where !Task.isCancelled { await sweep(mallId: mall.id) }
            guard page.count == Self.mallsPageSize, let last = page.last else { return }
            afterId = last.id
        }
    }

    /// Sweeps one mall if this replica gets its lease (renewed before each call, given back at
    /// the end); answers whether it swept it without failing.
    @discardableResult
    func sweep(mallId: Int64) async -> Bool {
        let asOf = now()
        do {
            guard try await leases.claim(mallId: mallId, job: .expirySweep, holder: holder, lease: Self.lease) else { return false }
            var total = ExpiryTally()
            var outcome: Result<Void, any Error> = .success(())
            do {
                var more = true
                while more && !Task.isCancelled {
                    let (tally, moreDue) = try await expiry.expireDue(mallId: mallId, asOfMilliseconds: asOf, budget: .seconds(Limits.expiryCallBudgetSeconds))
                    total = total + tally
                    // A lease that ran out and went to another replica ends this one's turn.
                    more = moreDue
                    if more { more = try await leases.claim(mallId: mallId, job: .expirySweep, holder: holder, lease: Self.lease) }
                }
            } catch {
                outcome = .failure(error)
            }
            try await leases.release(mallId: mallId, job: .expirySweep, holder: holder)
            try outcome.get()
            if total.lotsExpired > 0 {
                logger.info("points expired", metadata: [
                    "mall": "\(mallId)", "lots": "\(total.lotsExpired)", "points": "\(total.pointsExpired)", "members": "\(total.membersDebited)",
                ])
            }
        } catch {
            logger.warning("expiry sweep failed", metadata: ["mall": "\(mallId)", "error": "\(String(reflecting: error))"])
            return false
        }
        return true
    }
}
