import AtriumDomain
import AtriumStore
import Logging

/// Expires due points of every mall by itself: DOMAIN.md's "expiry runs automatically".
///
/// Every `interval` it walks all malls and runs `ExpiryStore.expireDue` for each until nothing
/// is due. A lot expires exactly once however many servers sweep at once (see `ExpiryStore`), so
/// each replica runs its own sweeper and no leader is needed. A failing mall is logged and
/// retried on the next round; it does not stop the others.
public struct ExpirySweeper: Sendable {
    static let mallsPageSize = 500

    let malls: MallStore
    let expiry: ExpiryStore
    let interval: Duration
    let now: @Sendable () -> Int64
    let logger: Logger

    public init(malls: MallStore, expiry: ExpiryStore, interval: Duration, now: @escaping @Sendable () -> Int64, logger: Logger) {
        self.malls = malls
        self.expiry = expiry
        self.interval = interval
        self.now = now
        self.logger = logger
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

    private func sweep(mallId: Int64) async {
        let asOf = now()
        do {
            var total = ExpiryTally()
            var more = true
            while more && !Task.isCancelled {
                let (tally, moreDue) = try await expiry.expireDue(mallId: mallId, asOfMilliseconds: asOf, budget: .seconds(Limits.expiryCallBudgetSeconds))
                total = total + tally
                more = moreDue
            }
            if total.lotsExpired > 0 {
                logger.info("points expired", metadata: [
                    "mall": "\(mallId)", "lots": "\(total.lotsExpired)", "points": "\(total.pointsExpired)", "members": "\(total.membersDebited)",
                ])
            }
        } catch {
            logger.warning("expiry sweep failed", metadata: ["mall": "\(mallId)", "error": "\(String(reflecting: error))"])
        }
    }
}
