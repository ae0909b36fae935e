import AtriumDomain
import Synchronization

/// The coupon templates SubmitOrder batches have read, by mall and id: a batch that writes off
/// coupons then reads only the coupons. What a coupon's use depends on (benefit, minimum spend,
/// validity, merchants, categories, funding split) never changes once a template is created;
/// only its issued count does, which the till never reads. So an entry never goes stale and
/// needs no invalidation; the cache is bounded by `capacity`, and forgets everything when full.
public final class CouponTemplateCache: Sendable {
    private struct Key: Hashable {
        var mallId: Int64
        var templateId: Int64
    }

    public static let defaultCapacity = 10_000
    private let capacity: Int
    private let templates = Mutex<[Key: CouponTemplate]>([:])

    public init(capacity: Int = CouponTemplateCache.defaultCapacity) {
        precondition(capacity > 0, "a cache holds something")
        self.capacity = capacity
    }

    /// The cached templates among `ids`; the caller reads the rest.
    func templates(mallId: Int64, ids: some Sequence<Int64>) -> [Int64: CouponTemplate] {
        templates.withLock { cached in
            var found: [Int64: CouponTemplate] = [:]
            for id in ids { if let template = cached[Key(mallId: mallId, templateId: id)] { found[id] = template } }
            return found
        }
    }

    func store(mallId: Int64, _ loaded: some Sequence<CouponTemplate>) {
        templates.withLock { cached in
            for template in loaded {
                if cached.count >= capacity { cached.removeAll(keepingCapacity: true) }
                cached[Key(mallId: mallId, templateId: template.id)] = template
            }
        }
    }
}
