import AtriumDomain
import Logging
import PostgresNIO

/// Earning rules (category defaults and merchant overrides), the tier table and campaigns.
public struct RuleStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    public func setCategoryRule<R: Sendable>(mallId: Int64, category: MerchantCategory, rule: EarningRule, request: IdempotentRequest<R>, respond: @escaping @Sendable () -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            try await connection.query("""
                INSERT INTO category_rules (mall_id, category, points_per_step, step_amount_minor, minimum_order_minor, per_order_cap_points, per_member_daily_cap_points)
                VALUES (\(mallId), \(category.rawValue), \(rule.pointsPerStep), \(rule.stepAmountMinor), \(rule.minimumOrderMinor), \(rule.perOrderCapPoints), \(rule.perMemberDailyCapPoints))
                ON CONFLICT (mall_id, category) DO UPDATE SET points_per_step = excluded.points_per_step,
                    step_amount_minor = excluded.step_amount_minor, minimum_order_minor = excluded.minimum_order_minor,
                    per_order_cap_points = excluded.per_order_cap_points, per_member_daily_cap_points = excluded.per_member_daily_cap_points
                """, logger: logger)
            return respond()
        }
    }

    public func setMerchantRule<R: Sendable>(mallId: Int64, merchantId: Int64, rule: EarningRule?, request: IdempotentRequest<R>, respond: @escaping @Sendable () -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            guard try await MerchantStore.merchant(mallId: mallId, id: merchantId, on: connection, logger: logger) != nil else {
                throw DomainError.notFound("merchant \(merchantId)")
            }
            if let rule {
                try await connection.query("""
                    INSERT INTO merchant_rules (mall_id, merchant_id, points_per_step, step_amount_minor, minimum_order_minor, per_order_cap_points, per_member_daily_cap_points)
                    VALUES (\(mallId), \(merchantId), \(rule.pointsPerStep), \(rule.stepAmountMinor), \(rule.minimumOrderMinor), \(rule.perOrderCapPoints), \(rule.perMemberDailyCapPoints))
                    ON CONFLICT (mall_id, merchant_id) DO UPDATE SET points_per_step = excluded.points_per_step,
                        step_amount_minor = excluded.step_amount_minor, minimum_order_minor = excluded.minimum_order_minor,
                        per_order_cap_points = excluded.per_order_cap_points, per_member_daily_cap_points = excluded.per_member_daily_cap_points
                    """, logger: logger)
            } else {
                try await connection.query("DELETE FROM merchant_rules WHERE mall_id = \(mallId) AND merchant_id = \(merchantId)", logger: logger)
            }
            return respond()
        }
    }

    public struct RuleSet: Sendable {
        public var categoryRules: [(MerchantCategory, EarningRule)]
        public var merchantRules: [(Int64, EarningRule)]
    }

    public func listRules(mallId: Int64) async throws -> RuleSet {
        try await db.withMall(mallId) { connection in
            var set = RuleSet(categoryRules: [], merchantRules: [])
            let categories = try await connection.query("""
                SELECT category, points_per_step, step_amount_minor, minimum_order_minor, per_order_cap_points, per_member_daily_cap_points
                FROM category_rules WHERE mall_id = \(mallId) ORDER BY category
                """, logger: logger)
            for try await (category, a, b, c, d, e) in categories.decode((Int16, Int64, Int64, Int64, Int64, Int64).self) {
                guard let category = MerchantCategory(rawValue: category) else { continue }
                set.categoryRules.append((category, EarningRule(pointsPerStep: a, stepAmountMinor: b, minimumOrderMinor: c, perOrderCapPoints: d, perMemberDailyCapPoints: e)))
            }
            let merchants = try await connection.query("""
                SELECT merchant_id, points_per_step, step_amount_minor, minimum_order_minor, per_order_cap_points, per_member_daily_cap_points
                FROM merchant_rules WHERE mall_id = \(mallId) ORDER BY merchant_id LIMIT 10000
                """, logger: logger)
            for try await (merchantId, a, b, c, d, e) in merchants.decode((Int64, Int64, Int64, Int64, Int64, Int64).self) {
                set.merchantRules.append((merchantId, EarningRule(pointsPerStep: a, stepAmountMinor: b, minimumOrderMinor: c, perOrderCapPoints: d, perMemberDailyCapPoints: e)))
            }
            return set
        }
    }

    public func setTier<R: Sendable>(mallId: Int64, tier: Tier, request: IdempotentRequest<R>, respond: @escaping @Sendable () -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            var count = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM tiers WHERE mall_id = \(mallId) AND code <> \(tier.code)", logger: logger).decode(Int.self) { count = n }
            guard count < Limits.tiersPerMallMax else { throw DomainError.resourceExhausted("a mall has at most \(Limits.tiersPerMallMax) tiers") }
            try await connection.query("""
                INSERT INTO tiers (mall_id, code, name, rank, multiplier_basis_points)
                VALUES (\(mallId), \(tier.code), \(tier.name), \(tier.rank), \(tier.multiplierBasisPoints))
                ON CONFLICT (mall_id, code) DO UPDATE SET name = excluded.name, rank = excluded.rank,
                    multiplier_basis_points = excluded.multiplier_basis_points
                """, logger: logger)
            return respond()
        }
    }

    public func listTiers(mallId: Int64) async throws -> [Tier] {
        try await db.withMall(mallId) { connection in
            var tiers: [Tier] = []
            let rows = try await connection.query("""
                SELECT code, name, rank, multiplier_basis_points FROM tiers WHERE mall_id = \(mallId) ORDER BY rank, code
                """, logger: logger)
            for try await (code, name, rank, bp) in rows.decode((String, String, Int32, Int32).self) {
                tiers.append(Tier(code: code, name: name, rank: rank, multiplierBasisPoints: bp))
            }
            return tiers
        }
    }

    public func createCampaign<R: Sendable>(mallId: Int64, campaign c: Campaign, request: IdempotentRequest<R>, respond: @escaping @Sendable (Campaign) -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            if let sponsor = c.sponsorMerchantId, try await MerchantStore.merchant(mallId: mallId, id: sponsor, on: connection, logger: logger) == nil {
                throw DomainError.notFound("sponsor merchant \(sponsor)")
            }
            var active = 0
            for try await n in try await connection.query("SELECT count(*)::int FROM campaigns WHERE mall_id = \(mallId) AND ended_at IS NULL AND ends_at > now()", logger: logger).decode(Int.self) { active = n }
            guard active < Limits.activeCampaignsPerMallMax else {
                throw DomainError.resourceExhausted("a mall has at most \(Limits.activeCampaignsPerMallMax) running campaigns")
            }
            let rows = try await connection.query("""
                INSERT INTO campaigns (mall_id, name, starts_at, ends_at, weekday_mask, dates, merchant_ids, categories, tier_codes,
                    multiplier_basis_points, bonus_points, minimum_eligible_minor, budget_points, stacking, sponsor_merchant_id)
                VALUES (\(mallId), \(c.name), from_epoch_ms(\(c.startsAtMilliseconds)), from_epoch_ms(\(c.endsAtMilliseconds)),
                    \(Int16(c.weekdayMask)), \(c.dates), \(c.merchantIds), \(c.categories.map(\.rawValue)), \(c.tierCodes),
                    \(c.multiplierBasisPoints), \(c.bonusPoints), \(c.minimumEligibleMinor), \(c.budgetPoints), \(c.stacking.rawValue), \(c.sponsorMerchantId))
                RETURNING \(unescaped: Self.campaignColumns)
                """, logger: logger)
            guard let created = try await Self.decodeCampaigns(rows).first else { throw DomainError.unavailable("campaign insert returned nothing") }
            return respond(created)
        }
    }

    public func endCampaign<R: Sendable>(mallId: Int64, id: Int64, request: IdempotentRequest<R>, respond: @escaping @Sendable (Campaign) -> R) async throws -> R {
        try await db.mutateRules(mallId, request) { connection in
            // Two statements: Citus refuses now() inside the COALESCE of a write.
            try await connection.query("UPDATE campaigns SET ended_at = now() WHERE mall_id = \(mallId) AND id = \(id) AND ended_at IS NULL", logger: logger)
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.campaignColumns) FROM campaigns WHERE mall_id = \(mallId) AND id = \(id)
                """, logger: logger)
            guard let campaign = try await Self.decodeCampaigns(rows).first else { throw DomainError.notFound("campaign \(id)") }
            return respond(campaign)
        }
    }

    public func listCampaigns(mallId: Int64, afterId: Int64, limit: Int) async throws -> [Campaign] {
        try await db.withMall(mallId) { connection in
            try await Self.decodeCampaigns(connection.query("""
                SELECT \(unescaped: Self.campaignColumns) FROM campaigns WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// The columns `decodeCampaign` reads.
    static let campaignColumns = """
        id, name, epoch_ms(starts_at), epoch_ms(ends_at), weekday_mask, dates, merchant_ids, categories, tier_codes,
        multiplier_basis_points, bonus_points, minimum_eligible_minor, budget_points, spent_points, stacking, sponsor_merchant_id,
        ended_at IS NOT NULL
        """

    /// The campaigns an order paid at [from, to] may get, from `cache` when fresh. With `lock`,
    /// budgeted ones are locked in id order and carry the spend read under the lock.
    static func openCampaigns(
        mallId: Int64, fromMilliseconds: Int64, toMilliseconds: Int64, lock: Bool, cache: RulesCache,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Campaign] {
        let now = ContinuousClock.now
        var all = cache.campaigns(mallId: mallId, now: now)
        if all == nil {
            let generation = cache.generation(mallId: mallId)
            var loaded: [Campaign] = []
            // Every campaign an order of the next `ttl` may get: orders may be paid up to
            // `orderPaidAtPastMilliseconds` ago, so campaigns that ended since then count too.
            let statement = CampaignsStatement(
                mallId: mallId, endingAfterMilliseconds: fromMilliseconds - Limits.orderPaidAtPastMilliseconds,
                limit: Int64(Limits.campaignsReadPerOrderBatchMax))
            for try await row in try await connection.execute(statement, logger: logger) { loaded.append(try decodeCampaign(row)) }
            loaded.reverse()  // id order: the engine breaks ties between campaigns by it
            cache.store(mallId: mallId, campaigns: loaded, generation: generation, at: now)
            all = loaded
        }
        var open = (all ?? []).filter { $0.startsAtMilliseconds <= toMilliseconds && $0.endsAtMilliseconds > fromMilliseconds }
        let budgeted = open.filter { $0.budgetPoints > 0 }.map(\.id)
        guard lock, !budgeted.isEmpty else { return open }
        var spent: [Int64: Int64] = [:]
        for try await (id, points) in try await connection.execute(LockBudgetsStatement(mallId: mallId, campaignIds: budgeted), logger: logger) {
            spent[id] = points
        }
        open = open.compactMap { campaign in
            guard campaign.budgetPoints > 0 else { return campaign }
            guard let points = spent[campaign.id] else { return nil }  // ended meanwhile
            var locked = campaign
            locked.spentPoints = points
            return locked
        }
        return open
    }

    static func decodeCampaigns(_ rows: PostgresRowSequence) async throws -> [Campaign] {
        var result: [Campaign] = []
        for try await row in rows { result.append(try decodeCampaign(row)) }
        return result
    }

    static func decodeCampaign(_ row: PostgresRow) throws -> Campaign {
        let r = row.makeRandomAccess()
        return Campaign(
            id: try r[0].decode(Int64.self), name: try r[1].decode(String.self),
            startsAtMilliseconds: try r[2].decode(Int64.self), endsAtMilliseconds: try r[3].decode(Int64.self),
            weekdayMask: UInt8(truncatingIfNeeded: try r[4].decode(Int16.self)),
            dates: try r[5].decode([Int64].self), merchantIds: try r[6].decode([Int64].self),
            categories: try r[7].decode([Int16].self).compactMap(MerchantCategory.init(rawValue:)),
            tierCodes: try r[8].decode([String].self),
            multiplierBasisPoints: try r[9].decode(Int32.self), bonusPoints: try r[10].decode(Int64.self),
            minimumEligibleMinor: try r[11].decode(Int64.self), budgetPoints: try r[12].decode(Int64.self),
            spentPoints: try r[13].decode(Int64.self), stacking: CampaignStacking(rawValue: try r[14].decode(Int16.self)) ?? .stackable,
            sponsorMerchantId: try r[15].decode(Int64?.self), ended: try r[16].decode(Bool.self))
    }
}
