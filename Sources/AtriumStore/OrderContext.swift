import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// Everything an order's evaluation reads: the merchant, its effective rule, the mall's clock
/// and policies, the member (locked when submitting), tier, daily earnings and campaigns.
struct OrderContext: Sendable {
    var merchantStatus: MerchantStatus
    var category: MerchantCategory
    var pendingDays: Int32
    var rule: EarningRule?
    var ruleSource: EarnLine.RuleSource
    var timeZone: String
    var expiryPolicy: ExpiryPolicy
    var shortfallPolicy: RefundShortfallPolicy

    /// The merchant, its rule (merchant override, else category default) and its mall's settings.
    static func merchant(mallId: Int64, merchantId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> OrderContext {
        let rows = try await connection.execute(MerchantContextStatement(mallId: mallId, merchantId: merchantId), logger: logger)
        for try await row in rows {
            let r = row.makeRandomAccess()
            func rule(at offset: Int) throws -> EarningRule? {
                guard let perStep = try r[offset].decode(Int64?.self) else { return nil }
                return EarningRule(
                    pointsPerStep: perStep, stepAmountMinor: try r[offset + 1].decode(Int64.self),
                    minimumOrderMinor: try r[offset + 2].decode(Int64.self), perOrderCapPoints: try r[offset + 3].decode(Int64.self),
                    perMemberDailyCapPoints: try r[offset + 4].decode(Int64.self))
            }
            let merchantRule = try rule(at: 3)
            let categoryRule = try rule(at: 8)
            return OrderContext(
                merchantStatus: MerchantStatus(rawValue: try r[0].decode(Int16.self)) ?? .suspended,
                category: MerchantCategory(rawValue: try r[1].decode(Int16.self)) ?? .other,
                pendingDays: try r[2].decode(Int32.self),
                rule: merchantRule ?? categoryRule,
                ruleSource: merchantRule != nil ? .merchant : .category,
                timeZone: try r[13].decode(String.self),
                expiryPolicy: try ExpiryPolicy.from(kind: try r[14].decode(Int16.self), parameter: try r[15].decode(Int32.self)),
                shortfallPolicy: RefundShortfallPolicy(rawValue: try r[16].decode(Int16.self)) ?? .stopAtZero)
        }
        throw DomainError.notFound("merchant \(merchantId)")
    }

    /// The mall's wall clock at `instant` (the offset is taken at that instant).
    func clock(nowMilliseconds: Int64, at instant: Int64) -> MallClockReading {
        let zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant) / 1000))
        return MallClockReading(nowMilliseconds: nowMilliseconds, utcOffsetSeconds: Int32(offset))
    }
}

/// The member facts evaluation needs, read in one statement.
struct MemberEarningFacts: Sendable {
    /// Shared by the ad hoc lookups and `LockMemberByCodeStatement`; a condition on $4 follows.
    static let selectSQL = """
        SELECT m.id, m.member_code, m.frozen, m.debt_points, m.tier_code,
               coalesce((SELECT multiplier_basis_points FROM tiers t WHERE t.mall_id = m.mall_id AND t.code = m.tier_code), 10000),
               coalesce((SELECT points FROM member_daily_earnings d WHERE d.mall_id = m.mall_id AND d.member_id = m.id
                         AND d.merchant_id = $2 AND d.local_day = $3::date), 0)
        FROM members m WHERE m.mall_id = $1 AND
        """

    var memberId: Int64
    var memberCode: String
    var frozen: Bool
    var debtPoints: Int64
    var facts: MemberFacts

    /// One statement: the member (locked when `lock`), its tier multiplier and what it earned
    /// at this merchant on `localDay`.
    static func load(mallId: Int64, member: MemberStore.LookupKey, merchantId: Int64, localDay: LocalDate, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> MemberEarningFacts {
        let select = Self.selectSQL
        let condition: String
        let keyValue: String
        switch member {
        case .phone(let phone): (condition, keyValue) = ("m.phone = $4", phone)
        case .memberCode(let code): (condition, keyValue) = ("m.member_code = $4", code)
        case .qrToken(let token):
            (condition, keyValue) = ("m.id = (SELECT member_id FROM member_qr_tokens q WHERE q.mall_id = $1 AND q.token = $4 AND q.expires_at > now())", token)
        }
        var binds = PostgresBindings(capacity: 4)
        binds.append(mallId)
        binds.append(merchantId)
        binds.append(localDay.description)
        binds.append(keyValue)
        var found: (Int64, String, Bool, Int64, String, Int32, Int64)?
        if case .memberCode(let code) = member, lock {
            // The till's path: prepared once per connection.
            let statement = LockMemberByCodeStatement(mallId: mallId, merchantId: merchantId, localDay: localDay.description, memberCode: code)
            for try await row in try await connection.execute(statement, logger: logger) { found = row }
        } else {
            let query = PostgresQuery(unsafeSQL: select + " " + condition + (lock ? " FOR UPDATE OF m" : ""), binds: binds)
            for try await row in try await connection.query(query, logger: logger).decode((Int64, String, Bool, Int64, String, Int32, Int64).self) { found = row }
        }
        if let (id, code, frozen, debt, tier, multiplier, earnedToday) = found {
            return MemberEarningFacts(
                memberId: id, memberCode: code, frozen: frozen, debtPoints: debt,
                facts: MemberFacts(tierCode: tier, tierMultiplierBasisPoints: multiplier, earnedTodayAtMerchantPoints: earnedToday))
        }
        throw DomainError.notFound("member")
    }
}
