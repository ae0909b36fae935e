import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// A reward as stored.
public struct RewardRow: Sendable, Equatable {
    public var reward: Reward
    public var redeemedCount: Int64
    public var createdAtMilliseconds: Int64
}

/// A redemption as stored, with its status as of the read.
public struct RedemptionRow: Sendable, Equatable {
    public var id: Int64
    public var rewardId: Int64
    public var memberId: Int64
    public var points: Int64
    public var cashMinor: Int64
    public var pickupCode: String
    public var status: RedemptionStatus
    public var createdAtMilliseconds: Int64
    /// When it was fulfilled or cancelled; nil while awaiting pickup.
    public var endedAtMilliseconds: Int64?
    /// A coupon bundle's coupons, as its redemption issued them (in RedeemReward's answer only).
    public var coupons: [CouponRow] = []
}

/// The points mall: HQ's rewards, and members' redemptions of them. A redemption is one
/// transaction that locks the member, then the reward (so the stock and the member's limits
/// hold under any concurrency), checks (`Reward.refusal`), and writes through
/// `record_redemption`: the stock, the lots drawn by earliest expiry, the journal, the balance.
/// Cancelling before pickup gives the points back where they came from (`SpendReturnPlan`) and
/// the stock; fulfilment by the reward's merchant, with the pickup code, makes the clearing entry
/// that pays that merchant the agreed cost.
public struct RewardStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    public func create<R: Sendable>(mallId: Int64, _ r: Reward, request: IdempotentRequest<R>, respond: @escaping @Sendable (RewardRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            var known = false
            for try await _ in try await connection.query("SELECT 1 FROM merchants WHERE mall_id = \(mallId) AND id = \(r.merchantId)", logger: logger) { known = true }
            guard known else { throw DomainError.notFound("merchant \(r.merchantId)") }
            if let templateId = r.couponTemplateId {
                var found = false
                for try await _ in try await connection.query("SELECT 1 FROM coupon_templates WHERE mall_id = \(mallId) AND id = \(templateId)", logger: logger) { found = true }
                guard found else { throw DomainError.notFound("coupon template \(templateId)") }
            }
            guard let row = try await Self.decodeRewards(connection.query("""
                INSERT INTO rewards (mall_id, name, kind, points_price, cash_price_minor, stock, per_member_limit, per_day_limit, available_from,
                    available_until, tier_codes, merchant_id, cost_minor, coupon_template_id, coupon_count)
                VALUES (\(mallId), \(r.name), \(r.kind.rawValue), \(r.pointsPrice), \(r.cashPriceMinor), \(r.stock), \(r.perMemberLimit), \(r.perDayLimit),
                    from_epoch_ms(\(r.availableFromMilliseconds)), from_epoch_ms(\(r.availableUntilMilliseconds)), \(r.tierCodes), \(r.merchantId), \(r.costMinor),
                    \(r.couponTemplateId), \(r.couponCount))
                RETURNING \(unescaped: Self.rewardColumns)
                """, logger: logger)).first else { throw DomainError.unavailable("the reward was not written; retry") }
            return respond(row)
        }
    }

    public func rewards(mallId: Int64, afterId: Int64, limit: Int) async throws -> [RewardRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decodeRewards(connection.query("""
                SELECT \(unescaped: Self.rewardColumns) FROM rewards WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// The rewards as one member sees them at `nowMilliseconds`: each with why the member may not
    /// redeem it (nil: it may). Nil for a member the mall does not have.
    public func rewards(mallId: Int64, forMember memberId: Int64, nowMilliseconds: Int64, afterId: Int64, limit: Int) async throws -> [(RewardRow, DomainError?)]? {
        try await db.withMall(mallId) { connection in
            guard let member = try await Self.member(mallId: mallId, memberId: memberId, lock: false, on: connection, logger: logger) else { return nil }
            let rows = try await Self.decodeRewards(connection.query("""
                SELECT \(unescaped: Self.rewardColumns) FROM rewards WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger))
            let counts = try await Self.counts(mallId: mallId, memberId: memberId, rewardIds: rows.map(\.reward.id), localDay: member.localDay(nowMilliseconds), on: connection, logger: logger)
            let spendable = try await Self.spendable(mallId: mallId, member: member, nowMilliseconds: nowMilliseconds, on: connection, logger: logger).points
            return rows.map { row in
                let (held, today) = counts[row.reward.id] ?? (0, 0)
                return (row, row.reward.refusal(tierCode: member.tierCode, frozen: member.frozen, held: held, today: today, spendablePoints: spendable, atMilliseconds: nowMilliseconds))
            }
        }
    }

    /// Redeems `rewardId` for `memberId`; the first failed check refuses and changes nothing.
    public func redeem<R: Sendable>(
        mallId: Int64, memberId: Int64, rewardId: Int64, nowMilliseconds: Int64, request: IdempotentRequest<R>, respond: @escaping @Sendable (RedemptionRow) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            guard let member = try await Self.member(mallId: mallId, memberId: memberId, lock: true, on: connection, logger: logger) else { throw DomainError.notFound("member \(memberId)") }
            guard let row = try await Self.decodeRewards(connection.query("""
                SELECT \(unescaped: Self.rewardColumns) FROM rewards WHERE mall_id = \(mallId) AND id = \(rewardId) FOR UPDATE
                """, logger: logger)).first else { throw DomainError.notFound("reward \(rewardId)") }
            let reward = row.reward
            let localDay = member.localDay(nowMilliseconds)
            let (held, today) = try await Self.counts(mallId: mallId, memberId: memberId, rewardIds: [rewardId], localDay: localDay, on: connection, logger: logger)[rewardId] ?? (0, 0)
            let spendable = try await Self.spendable(mallId: mallId, member: member, nowMilliseconds: nowMilliseconds, on: connection, logger: logger)
            if let refusal = reward.refusal(tierCode: member.tierCode, frozen: member.frozen, held: held, today: today, spendablePoints: spendable.points, atMilliseconds: nowMilliseconds) {
                throw refusal
            }
            let (draws, uncovered) = LotConsumption.draw(reward.pointsPrice, from: spendable.lots)
            precondition(uncovered == 0, "spendable points cover the price the checks admitted")
            let funders = Dictionary(uniqueKeysWithValues: spendable.lots.map { ($0.id, $0.funder) })
            let journal = Journal.redemption(memberId: memberId, points: reward.pointsPrice)
            var generator = SystemRandomNumberGenerator()
            let code = CouponCode.make(using: &generator)
            let line = StoredEarnLine(rule: "redeem", description: "reward \(reward.id): \(reward.name)", points: -reward.pointsPrice, funder: "")
            var written: (Int64, Int64)?
            for try await value in try await connection.query("""
                SELECT out_id, out_created_ms FROM record_redemption(\(mallId), \(rewardId), \(memberId), \(reward.pointsPrice), \(reward.cashPriceMinor), \(code),
                    \(localDay), \(draws.map(\.lotId)), \(draws.map { funders[$0.lotId]?.kind ?? Funder.mall.kind }), \(draws.map { funders[$0.lotId]?.ownerId ?? 0 }),
                    \(draws.map(\.points)), \(journal.kind.rawValue), \("reward \(reward.name)"), \(JSONText.array([line])),
                    \(journal.postings.indices.map { Int16($0) }), \(journal.postings.map(\.account.kind)), \(journal.postings.map(\.account.ownerId)),
                    \(journal.postings.map(\.points)))
                """, logger: logger).decode((Int64, Int64).self) { written = value }
            guard let (id, createdAt) = written else { throw DomainError.unavailable("the redemption was not written; retry") }
            var redemption = RedemptionRow(
                id: id, rewardId: rewardId, memberId: memberId, points: reward.pointsPrice, cashMinor: reward.cashPriceMinor, pickupCode: code,
                status: .awaitingPickup, createdAtMilliseconds: createdAt, endedAtMilliseconds: nil)
            if let templateId = reward.couponTemplateId {
                try await Self.handOverBundle(&redemption, templateId: templateId, count: reward.couponCount, mallId: mallId, nowMilliseconds: nowMilliseconds, on: connection, logger: logger)
            }
            return respond(redemption)
        }
    }

    /// Cancels a redemption awaiting pickup: its points go back (to their lots while they live,
    /// else a new lot of the mall's `returned_points_validity_days`), its stock comes back. A
    /// cancelled one answers as it stands; a fulfilled one is refused. `memberId` nil: HQ, any
    /// member's; otherwise only that member's (another's is NOT_FOUND).
    public func cancel<R: Sendable>(
        mallId: Int64, redemptionId: Int64, memberId: Int64?, nowMilliseconds: Int64, request: IdempotentRequest<R>,
        respond: @escaping @Sendable (RedemptionRow) -> R
    ) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            guard let found = try await Self.redemption(mallId: mallId, id: redemptionId, on: connection, logger: logger), memberId == nil || found.memberId == memberId else {
                throw DomainError.notFound("redemption \(redemptionId)")
            }
            // The member first, as every change to its points: then the redemption, as read under it.
            _ = try await Self.member(mallId: mallId, memberId: found.memberId, lock: true, on: connection, logger: logger)
            guard let redemption = try await Self.redemption(mallId: mallId, id: redemptionId, lock: true, on: connection, logger: logger) else {
                throw DomainError.notFound("redemption \(redemptionId)")
            }
            switch redemption.status {
            case .cancelled: return respond(redemption)
            case .fulfilled: throw DomainError.failedPrecondition(.redemptionFulfilled, "redemption \(redemptionId) was handed over")
            case .awaitingPickup: break
            }
            var draws: [SpendDraw] = []
            var now = nowMilliseconds
            for try await (lotId, kind, owner, points, expiresAt, dbNow) in try await connection.query("""
                SELECT d.lot_id, d.funder_kind, d.funder_id, d.points, epoch_ms(l.expires_at), epoch_ms(now())
                FROM redemption_draws d JOIN lots l ON l.mall_id = d.mall_id AND l.id = d.lot_id
                WHERE d.mall_id = \(mallId) AND l.mall_id = \(mallId) AND d.redemption_id = \(redemptionId)
                """, logger: logger).decode((Int64, Int16, Int64, Int64, Int64?, Int64).self) {
                guard let funder = Funder(kind: kind, ownerId: owner) else { preconditionFailure("funder_kind is checked by the schema") }
                draws.append(SpendDraw(lotId: lotId, funder: funder, points: points, lotExpiresAtMilliseconds: expiresAt))
                now = dbNow
            }
            guard draws.reduce(0, { $0 + $1.points }) == redemption.points else {
                throw DomainError.failedPrecondition(.ledgerInconsistent, "redemption \(redemptionId)'s draws do not add up to its \(redemption.points) points")
            }
            guard let mall = try await MallStore.mall(mallId, on: connection, logger: logger) else { throw DomainError.notFound("mall \(mallId)") }
            let plan = SpendReturnPlan(returning: redemption.points, of: draws, atMilliseconds: now, minimumValidityDays: mall.settings.returnedPointsValidityDays)
            let journal = Journal.redemptionCancelled(memberId: redemption.memberId, points: redemption.points)
            let line = StoredEarnLine(rule: "redeem_cancelled", description: "redemption \(redemptionId) cancelled", points: redemption.points, funder: "")
            var endedAt: Int64?
            for try await value in try await connection.query("""
                SELECT cancel_redemption(\(mallId), \(redemptionId), \(redemption.rewardId), \(redemption.memberId), \(redemption.points), \(journal.kind.rawValue),
                    \("redemption \(redemptionId) cancelled"), \(JSONText.array([line])), \(journal.postings.indices.map { Int16($0) }),
                    \(journal.postings.map(\.account.kind)), \(journal.postings.map(\.account.ownerId)), \(journal.postings.map(\.points)),
                    \(plan.restores.map(\.lotId)), \(plan.restores.map(\.points)), \(plan.newLots.map(\.funder.kind)), \(plan.newLots.map(\.funder.ownerId)),
                    \(plan.newLots.map(\.points)), \(plan.newLotsExpireAtMilliseconds), \(LotRows.Source.returned.rawValue))
                """, logger: logger).decode(Int64.self) { endedAt = value }
            var cancelled = redemption
            cancelled.status = .cancelled
            cancelled.endedAtMilliseconds = endedAt
            return respond(cancelled)
        }
    }

    /// Hands a reward over: the reward's own merchant, with the pickup code. Idempotent on the
    /// code: fulfilling it again answers the fulfilled redemption (`replayed`). Another merchant,
    /// or an unknown code, is NOT_FOUND.
    public func fulfil(mallId: Int64, merchantId: Int64, pickupCode: String) async throws -> (RedemptionRow, replayed: Bool) {
        try await db.withMall(mallId) { connection in
            guard let redemption = try await Self.decodeRedemptions(connection.query("""
                SELECT \(unescaped: Self.redemptionColumns) FROM redemptions r
                WHERE r.mall_id = \(mallId) AND r.pickup_code = \(pickupCode)
                  AND EXISTS (SELECT 1 FROM rewards w WHERE w.mall_id = \(mallId) AND w.id = r.reward_id AND w.merchant_id = \(merchantId))
                FOR UPDATE OF r
                """, logger: logger)).first else { throw DomainError.notFound("redemption") }
            switch redemption.status {
            case .fulfilled: return (redemption, true)
            case .cancelled: throw DomainError.failedPrecondition(.redemptionCancelled, "the redemption was cancelled")
            case .awaitingPickup: break
            }
            guard let fulfilled = try await Self.decodeRedemptions(connection.query("""
                UPDATE redemptions r SET status = \(RedemptionStatus.fulfilled.rawValue), ended_at = statement_timestamp()
                WHERE r.mall_id = \(mallId) AND r.id = \(redemption.id)
                RETURNING \(unescaped: Self.redemptionColumns)
                """, logger: logger)).first else { throw DomainError.unavailable("the redemption was not fulfilled; retry") }
            var cost: Int64 = 0
            for try await value in try await connection.query(
                "SELECT cost_minor FROM rewards WHERE mall_id = \(mallId) AND id = \(redemption.rewardId)", logger: logger
            ).decode(Int64.self) { cost = value }
            if cost > 0 {
                var written = false
                for try await _ in try await connection.query("""
                    INSERT INTO clearing_entries (mall_id, kind, party_kind, party_id, amount_minor, created_at)
                    VALUES (\(mallId), \(JournalKind.rewardFulfilled.rawValue), \(Funder.merchant(merchantId).kind), \(merchantId), \(cost), statement_timestamp())
                    RETURNING 1
                    """, logger: logger) { written = true }
                guard written else { throw DomainError.unavailable("the clearing entry was not written; retry") }
            }
            return (fulfilled, false)
        }
    }

    /// A member's redemptions, newest first (keyset on id; `beforeId` 0 for the first page).
    public func redemptions(mallId: Int64, memberId: Int64, beforeId: Int64, limit: Int) async throws -> [RedemptionRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decodeRedemptions(connection.query("""
                SELECT \(unescaped: Self.redemptionColumns) FROM redemptions r
                WHERE r.mall_id = \(mallId) AND r.member_id = \(memberId) AND (\(beforeId) = 0 OR r.id < \(beforeId))
                ORDER BY r.id DESC LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// A coupon bundle is handed over as it is redeemed: its coupons are issued to the member
    /// under the template's lock (after the member's and the reward's), within the template's
    /// limits, and the redemption is fulfilled.
    static func handOverBundle(
        _ redemption: inout RedemptionRow, templateId: Int64, count: Int32, mallId: Int64, nowMilliseconds: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let template = try await CouponStore.decode(connection.query("""
            SELECT \(unescaped: CouponStore.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id = \(templateId) FOR UPDATE
            """, logger: logger)).first else { throw DomainError.notFound("coupon template \(templateId)") }
        redemption.coupons = try await CouponStore.issue(
            template, mallId: mallId, to: Array(repeating: redemption.memberId, count: Int(count)), passingOverFull: false, nowMilliseconds: nowMilliseconds,
            on: connection, logger: logger)
        for try await endedAt in try await connection.query("""
            UPDATE redemptions SET status = \(RedemptionStatus.fulfilled.rawValue), ended_at = statement_timestamp()
            WHERE mall_id = \(mallId) AND id = \(redemption.id)
            RETURNING epoch_ms(ended_at)
            """, logger: logger).decode(Int64.self) { redemption.endedAtMilliseconds = endedAt }
        redemption.status = .fulfilled
    }

    // MARK: Reads

    struct Member {
        var id: Int64
        var tierCode: String
        var frozen: Bool
        var debtPoints: Int64
        var utcOffsetSeconds: Int32

        func localDay(_ nowMilliseconds: Int64) -> String {
            MallClockReading(nowMilliseconds: nowMilliseconds, utcOffsetSeconds: utcOffsetSeconds).localDate(atMilliseconds: nowMilliseconds).description
        }
    }

    static func member(mallId: Int64, memberId: Int64, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Member? {
        var found: (Int64, String, Bool, Int64, String)?
        for try await row in try await connection.query("""
            SELECT m.id, m.tier_code, m.frozen, m.debt_points, (SELECT time_zone FROM malls WHERE id = \(mallId))
            FROM members m WHERE m.mall_id = \(mallId) AND m.id = \(memberId) \(unescaped: lock ? "FOR UPDATE OF m" : "")
            """, logger: logger).decode((Int64, String, Bool, Int64, String).self) { found = row }
        guard let (id, tier, frozen, debt, zone) = found else { return nil }
        let offset = (TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!).secondsFromGMT(for: Date())
        return Member(id: id, tierCode: tier, frozen: frozen, debtPoints: debt, utcOffsetSeconds: Int32(offset))
    }

    /// Per reward: the member's redemptions not cancelled, and those of them made on `localDay`.
    static func counts(mallId: Int64, memberId: Int64, rewardIds: [Int64], localDay: String, on connection: PostgresConnection, logger: Logger) async throws -> [Int64: (Int64, Int64)] {
        guard !rewardIds.isEmpty else { return [:] }
        var counts: [Int64: (Int64, Int64)] = [:]
        for try await (rewardId, held, today) in try await connection.query("""
            SELECT reward_id, count(*), count(*) FILTER (WHERE local_day = \(localDay)::date) FROM redemptions
            WHERE mall_id = \(mallId) AND member_id = \(memberId) AND reward_id = ANY(\(rewardIds)) AND status <> \(RedemptionStatus.cancelled.rawValue)
            GROUP BY reward_id
            """, logger: logger).decode((Int64, Int64, Int64).self) { counts[rewardId] = (held, today) }
        return counts
    }

    /// The member's spendable lots at `nowMilliseconds` in spending order, and what it can spend:
    /// their points less its debt and its live holds.
    static func spendable(mallId: Int64, member: Member, nowMilliseconds: Int64, on connection: PostgresConnection, logger: Logger) async throws -> (lots: [Lot], points: Int64) {
        var lots: [Lot] = []
        var held: Int64 = 0
        let read = SpendingForBatchStatement(mallId: mallId, memberIds: [member.id], perMemberMax: Int64(Limits.spendLotsReadMax), holdIds: [], couponCodes: [])
        for try await row in try await connection.execute(read, logger: logger) {
            switch row {
            case .lot(_, let lot): lots.append(lot)
            case .hold(_, let hold):
                guard PointHoldStatus.at(hold.stored, expiresAtMilliseconds: hold.expiresAtMilliseconds, nowMilliseconds: nowMilliseconds) == .held else { continue }
                held = try Arithmetic.add(held, hold.points)
            case .coupon: preconditionFailure("no coupon was asked for")
            }
        }
        let live = LotConsumption.spendable(lots, atMilliseconds: nowMilliseconds)
        let points = try Arithmetic.add(try LotConsumption.spendablePoints(live, debtPoints: member.debtPoints, atMilliseconds: nowMilliseconds), -held)
        return (live, max(0, points))
    }

    static func redemption(mallId: Int64, id: Int64, lock: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> RedemptionRow? {
        try await decodeRedemptions(connection.query("""
            SELECT \(unescaped: redemptionColumns) FROM redemptions r WHERE r.mall_id = \(mallId) AND r.id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)).first
    }

    static let rewardColumns = """
        id, name, kind, points_price, cash_price_minor, stock, per_member_limit, per_day_limit, epoch_ms(available_from), epoch_ms(available_until),
        tier_codes, merchant_id, cost_minor, redeemed_count, epoch_ms(created_at), coupon_template_id, coupon_count
        """

    static func decodeRewards(_ rows: PostgresRowSequence) async throws -> [RewardRow] {
        var result: [RewardRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            let reward = Reward(
                id: try r[0].decode(Int64.self), name: try r[1].decode(String.self), kind: RewardKind(rawValue: try r[2].decode(Int16.self)) ?? .physicalGift,
                pointsPrice: try r[3].decode(Int64.self), cashPriceMinor: try r[4].decode(Int64.self), stock: try r[5].decode(Int64.self),
                perMemberLimit: try r[6].decode(Int32.self), perDayLimit: try r[7].decode(Int32.self),
                availableFromMilliseconds: try r[8].decode(Int64?.self), availableUntilMilliseconds: try r[9].decode(Int64?.self),
                tierCodes: try r[10].decode([String].self), merchantId: try r[11].decode(Int64.self), costMinor: try r[12].decode(Int64.self),
                couponTemplateId: try r[15].decode(Int64?.self), couponCount: try r[16].decode(Int32.self))
            result.append(RewardRow(reward: reward, redeemedCount: try r[13].decode(Int64.self), createdAtMilliseconds: try r[14].decode(Int64.self)))
        }
        return result
    }

    static let redemptionColumns = """
        r.id, r.reward_id, r.member_id, r.points, r.cash_minor, r.pickup_code, r.status, epoch_ms(r.created_at), epoch_ms(r.ended_at)
        """

    static func decodeRedemptions(_ rows: PostgresRowSequence) async throws -> [RedemptionRow] {
        var result: [RedemptionRow] = []
        for try await (id, rewardId, memberId, points, cash, code, status, createdAt, endedAt) in rows.decode((Int64, Int64, Int64, Int64, Int64, String, Int16, Int64, Int64?).self) {
            guard let status = RedemptionStatus(rawValue: status) else { preconditionFailure("redemptions.status is checked by the schema") }
            result.append(RedemptionRow(
                id: id, rewardId: rewardId, memberId: memberId, points: points, cashMinor: cash, pickupCode: code, status: status, createdAtMilliseconds: createdAt,
                endedAtMilliseconds: endedAt))
        }
        return result
    }
}
