import AtriumStore
import Logging
import PostgresNIO

/// Every store over one database handle.
public struct Stores: Sendable {
    public let db: Database
    public let malls: MallStore
    public let platformKeys: PlatformKeyStore
    public let credentials: CredentialStore
    public let merchants: MerchantStore
    public let rules: RuleStore
    public let members: MemberStore
    public let orders: OrderStore
    public let ledger: LedgerStore
    public let expiry: ExpiryStore
    public let jobLeases: JobLeaseStore
    public let settlement: SettlementStore
    public let holds: HoldStore
    public let coupons: CouponStore
    public let rewards: RewardStore

    public init(client: PostgresClient, orderLanes: Int, rulesCacheMilliseconds: Int64, citus: Bool = false, logger: Logger) {
        db = Database(client: client, logger: logger, rulesCache: RulesCache(ttl: .milliseconds(rulesCacheMilliseconds)), citus: citus)
        malls = MallStore(db: db)
        platformKeys = PlatformKeyStore(db: db)
        credentials = CredentialStore(db: db)
        merchants = MerchantStore(db: db)
        rules = RuleStore(db: db)
        members = MemberStore(db: db)
        orders = OrderStore(db: db, batching: OrderBatcher.Options(lanes: orderLanes))
        ledger = LedgerStore(db: db)
        expiry = ExpiryStore(db: db)
        jobLeases = JobLeaseStore(db: db)
        settlement = SettlementStore(db: db)
        holds = HoldStore(db: db)
        coupons = CouponStore(db: db)
        rewards = RewardStore(db: db)
    }
}
