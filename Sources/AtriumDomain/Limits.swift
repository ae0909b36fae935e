/// Every upper bound Atrium enforces, in one place (TigerBeetle's "limits on everything").
/// Units are named last.
public enum Limits {
    public static let pageSizeDefault = 50
    public static let pageSizeMax = 500
    public static let requestIdLengthMax = 64
    public static let nameLengthMax = 100
    public static let codeLengthMax = 40
    public static let reasonLengthMax = 200
    public static let labelLengthMax = 100
    /// Active platform operator keys at once (rotation needs two for a while).
    public static let platformKeysActiveMax = 20
    public static let orderNumberLengthMax = 64
    public static let orderLinesMax = 200
    public static let lineQuantityMax: Int64 = 10_000
    public static let skuLengthMax = 64
    public static let orderAmountMinorMax: Int64 = 1_000_000_000_000
    /// Points one order may earn (¥10,000,000 of value at 100 points = ¥1); an order whose rules
    /// give more is refused (INVALID_ARGUMENT), not capped, since such a rate is a set-up mistake.
    public static let orderPointsMax: Int64 = 1_000_000_000
    /// Points one member may earn over the membership's life. A member's balance, debt, daily
    /// totals and every lot are at most this, so the server's sums over one member (and over
    /// 9,000 members' balances) cannot overflow 64 bits; an order past it is refused with
    /// FAILED_PRECONDITION and records nothing.
    public static let memberLifetimePointsMax: Int64 = 1_000_000_000_000_000
    public static let pointsPerStepMax: Int64 = 1_000_000
    public static let stepAmountMinorMax: Int64 = 100_000_000
    public static let bonusPointsMax: Int64 = 1_000_000
    public static let multiplierBasisPointsMin: Int32 = 10_000
    public static let multiplierBasisPointsMax: Int32 = 100_000
    public static let budgetPointsMax: Int64 = 1_000_000_000_000
    public static let pendingDaysMax: Int32 = 90
    public static let campaignTargetsMax = 200
    public static let campaignDatesMax = 366
    public static let campaignWindowMillisecondsMax: Int64 = 5 * 366 * 86_400_000
    /// The last instant a request may name: the end of year 9999 UTC, inside PostgreSQL's
    /// timestamps (a later one would fail in the database instead of naming its field).
    public static let instantMillisecondsMax: Int64 = 253_402_300_799_999
    public static let orderPaidAtFutureSkewMilliseconds: Int64 = 5 * 60_000
    public static let orderPaidAtPastMilliseconds: Int64 = 30 * 86_400_000
    public static let qrTokenLifetimeMilliseconds: Int64 = 5 * 60_000
    public static let requestPayloadBytesMax = 1 << 20
    public static let concurrentStreamsMax = 256
    public static let ledgerViolationsReportedMax = 100
    public static let activeCampaignsPerMallMax = 500
    /// Campaigns an order batch considers: the running ones and those that ended within the
    /// 30 days an order may be backdated, newest first.
    public static let campaignsReadPerOrderBatchMax = 2_000
    public static let tiersPerMallMax = 20
    public static let redeemPointsMax: Int64 = 1_000_000
    public static let redeemValueMinorMax: Int64 = 1_000_000
    public static let expiryDaysMax: Int32 = 3_660
    public static let expiryMonthsMax: Int32 = 120
    /// Live lots a refund reads to claw its points back from. The order's own lots come first, so
    /// only a member holding more live lots than this could see a clawback fall short early.
    public static let clawbackLotsReadMax = 10_000
    /// Live lots a payment with points reads per member, earliest-expiring first: a member with
    /// more pays from these, and may be told it has fewer points to spend than it holds.
    public static let spendLotsReadMax = 1_000
    /// Members one ImportMembers call registers.
    public static let importMembersMax = 1_000
    /// Orders recorded in one transaction by the SubmitOrder batcher.
    public static let orderBatchSizeMax = 128
    /// Coupon templates: the longest validity after issue, the merchants one may name, coupons
    /// one member may hold of one template, and coupons one template may ever issue.
    public static let couponValidDaysMax: Int32 = 3_650
    public static let couponMerchantsMax = 500
    public static let couponsPerMemberMax: Int32 = 1_000
    /// Coupons one bundle of the points mall holds.
    public static let rewardBundleCouponsMax: Int32 = 10
    /// Coupons one order may use.
    public static let orderCouponsMax = 3
    /// Members one IssueCoupons call names: one bounded transaction.
    public static let couponsIssuedPerCallMax = 1_000
    public static let couponQuantityMax: Int64 = 100_000_000
    /// How long a point hold may last, in seconds, and how long it lasts unless asked.
    public static let holdSecondsRange: ClosedRange<Int32> = 1...900
    public static let holdSecondsDefault: Int32 = 300
    /// SubmitOrder calls waiting for a batch; beyond it the server answers RESOURCE_EXHAUSTED.
    public static let orderQueueMax = 10_000
    /// SubmitOrder calls of one mall waiting for a batch (about a second of a busy mall's
    /// orders); beyond it that mall's tills get RESOURCE_EXHAUSTED and the others go on.
    public static let orderQueuePerMallMax = 2_000
    /// Members whose due lots one expiry transaction takes (every due lot of each, about ten for a
    /// year of weekly visits). Its member locks are held about 0.2 s, and a SubmitOrder batch of
    /// the mall that needs one of them waits that long, with every till of the mall behind it
    /// (one batch per mall at a time). Measured over 1,000,000 lots: 1,000 members a batch took
    /// 19.4 s, 500 22.9 s, 250 25.7 s.
    public static let expiryBatchMembersMax = 500
    /// Expiry batches of one mall run at once, over disjoint members (`ExpiryStore`).
    public static let expiryWorkers = 2
    /// How long one ExpirePoints call keeps running batches; it says whether more is due.
    public static let expiryCallBudgetSeconds: Int64 = 20
    /// Statements one ExportStatements answer carries (a mall's merchants and partners and the
    /// mall): at most six rows of about 90 bytes each, under the 4 MiB a gRPC client accepts by
    /// default.
    public static let statementsExportedMax = 5_000
}
