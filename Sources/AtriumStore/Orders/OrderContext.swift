import AtriumDomain
import Foundation
import Logging
import PostgresNIO

/// What an order's evaluation reads about its merchant: status, category, the effective rule
/// (merchant override, else category default) and the mall's clock and policies.
struct OrderContext: Sendable {
    var merchantStatus: MerchantStatus
    var category: MerchantCategory
    var pendingDays: Int32
    var rule: EarningRule?
    var ruleSource: EarnLine.RuleSource
    var timeZone: String
    var expiryPolicy: ExpiryPolicy
    var shortfallPolicy: RefundShortfallPolicy
    var pointsPayment: PointsPaymentPolicy
    var returnedPointsValidityDays: Int32

    /// The contexts of `merchantIds` from `cache` where fresh, the rest in one round trip;
    /// unknown ids are absent.
    static func merchants(mallId: Int64, merchantIds: [Int64], cache: RulesCache, on connection: PostgresConnection, logger: Logger) async throws -> [Int64: OrderContext] {
        let now = ContinuousClock.now
        var contexts = cache.contexts(mallId: mallId, merchantIds: merchantIds, now: now)
        let missing = merchantIds.filter { contexts[$0] == nil }
        guard !missing.isEmpty else { return contexts }
        let generation = cache.generation(mallId: mallId)
        let loaded = try await merchants(mallId: mallId, merchantIds: missing, on: connection, logger: logger)
        cache.store(mallId: mallId, contexts: loaded, generation: generation, at: now)
        contexts.merge(loaded) { _, fresh in fresh }
        return contexts
    }

    /// The contexts of `merchantIds` as stored now, one round trip; unknown ids are absent.
    static func merchants(mallId: Int64, merchantIds: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int64: OrderContext] {
        var contexts: [Int64: OrderContext] = [:]
        for try await row in try await connection.execute(MerchantContextsStatement(mallId: mallId, merchantIds: merchantIds), logger: logger) {
            let r = row.makeRandomAccess()
            func rule(at offset: Int) throws -> EarningRule? {
                guard let perStep = try r[offset].decode(Int64?.self) else { return nil }
                return EarningRule(
                    pointsPerStep: perStep, stepAmountMinor: try r[offset + 1].decode(Int64.self),
                    minimumOrderMinor: try r[offset + 2].decode(Int64.self), perOrderCapPoints: try r[offset + 3].decode(Int64.self),
                    perMemberDailyCapPoints: try r[offset + 4].decode(Int64.self))
            }
            let merchantRule = try rule(at: 4)
            let categoryRule = try rule(at: 9)
            contexts[try r[0].decode(Int64.self)] = OrderContext(
                merchantStatus: MerchantStatus(rawValue: try r[1].decode(Int16.self)) ?? .suspended,
                category: MerchantCategory(rawValue: try r[2].decode(Int16.self)) ?? .other,
                pendingDays: try r[3].decode(Int32.self),
                rule: merchantRule ?? categoryRule,
                ruleSource: merchantRule != nil ? .merchant : .category,
                timeZone: try r[14].decode(String.self),
                expiryPolicy: try ExpiryPolicy.from(kind: try r[15].decode(Int16.self), parameter: try r[16].decode(Int32.self)),
                shortfallPolicy: RefundShortfallPolicy(rawValue: try r[17].decode(Int16.self)) ?? .stopAtZero,
                pointsPayment: PointsPaymentPolicy(
                    stepPoints: try r[18].decode(Int64.self), stepValueMinor: try r[19].decode(Int64.self), maxShareBasisPoints: try r[20].decode(Int32.self),
                    minimumPoints: try r[21].decode(Int64.self)),
                returnedPointsValidityDays: try r[22].decode(Int32.self))
        }
        return contexts
    }

    static func merchant(mallId: Int64, merchantId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> OrderContext {
        guard let context = try await merchants(mallId: mallId, merchantIds: [merchantId], on: connection, logger: logger)[merchantId] else {
            throw DomainError.notFound("merchant \(merchantId)")
        }
        return context
    }

    /// The mall's wall clock at `instant` (the offset is taken at that instant).
    func clock(nowMilliseconds: Int64, at instant: Int64) -> MallClockReading {
        let zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant) / 1000))
        return MallClockReading(nowMilliseconds: nowMilliseconds, utcOffsetSeconds: Int32(offset))
    }
}

/// What earning reads about a member: identity, standing, tier multiplier, and what it already
/// earned per (merchant, local day) among those a batch asked for.
struct EarningMember: Sendable {
    var memberId: Int64
    var memberCode: String
    var phone: String
    var qrTokens: [String]
    var frozen: Bool
    var debtPoints: Int64
    /// To whom the debt is owed, oldest first (`MemberDebt.repay`); empty without debt.
    var debts: [MemberDebt] = []
    /// What the member earned so far (`Limits.memberLifetimePointsMax`).
    var lifetimeEarnedPoints: Int64
    var tierCode: String
    var tierMultiplierBasisPoints: Int32
    var earnedPoints: [DailyKey: Int64]

    struct DailyKey: Hashable, Sendable {
        var merchantId: Int64
        var localDay: String
    }

    func facts(merchantId: Int64, localDay: String) -> MemberFacts {
        MemberFacts(
            tierCode: tierCode, tierMultiplierBasisPoints: tierMultiplierBasisPoints,
            earnedTodayAtMerchantPoints: earnedPoints[DailyKey(merchantId: merchantId, localDay: localDay)] ?? 0)
    }
}

/// The members a batch names, found by whichever key each order used.
struct EarningMembers: Sendable {
    private var byId: [Int64: EarningMember] = [:]
    private var idByCode: [String: Int64] = [:]
    private var idByPhone: [String: Int64] = [:]
    private var idByToken: [String: Int64] = [:]

    /// One round trip; with `lock`, the members are locked in id order until the transaction ends.
    static func load(
        mallId: Int64, keys: [MemberStore.LookupKey], merchantIds: [Int64], localDays: [String], lock: Bool,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> EarningMembers {
        var codes: [String] = [], phones: [String] = [], tokens: [String] = []
        for key in keys {
            switch key {
            case .memberCode(let code): codes.append(code)
            case .phone(let phone): phones.append(phone)
            case .qrToken(let token): tokens.append(token)
            }
        }
        var members = EarningMembers()
        func add(_ row: MembersForEarningStatement<NoLock>.Row) {
            let (id, code, phone, frozen, debt, lifetime, tier, multiplier, memberTokens, dailyMerchants, dailyDays, dailyPoints) = row
            var earned: [EarningMember.DailyKey: Int64] = [:]
            for i in dailyMerchants.indices where i < dailyDays.count && i < dailyPoints.count {
                earned[EarningMember.DailyKey(merchantId: dailyMerchants[i], localDay: dailyDays[i])] = dailyPoints[i]
            }
            members.byId[id] = EarningMember(
                memberId: id, memberCode: code, phone: phone, qrTokens: memberTokens, frozen: frozen, debtPoints: debt, lifetimeEarnedPoints: lifetime,
                tierCode: tier, tierMultiplierBasisPoints: multiplier, earnedPoints: earned)
            members.idByCode[code] = id
            members.idByPhone[phone] = id
            for token in memberTokens { members.idByToken[token] = id }
        }
        if lock {
            let statement = MembersForEarningStatement<ForUpdate>(
                mallId: mallId, memberCodes: codes, phones: phones, qrTokens: tokens, merchantIds: merchantIds, localDays: localDays)
            for try await row in try await connection.execute(statement, logger: logger) { add(row) }
        } else {
            let statement = MembersForEarningStatement<NoLock>(
                mallId: mallId, memberCodes: codes, phones: phones, qrTokens: tokens, merchantIds: merchantIds, localDays: localDays)
            for try await row in try await connection.execute(statement, logger: logger) { add(row) }
        }
        try await members.loadDebts(mallId: mallId, locked: lock, on: connection, logger: logger)
        return members
    }

    /// Reads to whom the members with debt owe it: rarely any, so no round trip without. Under
    /// the member lock nobody else changes them, so rows that do not add up to the member's debt
    /// are damage, and the order fails rather than repay the wrong funder. Unlocked (a quote,
    /// which writes nothing), a refund or order may have committed between the two reads: the
    /// quote goes by the debts as read.
    private mutating func loadDebts(mallId: Int64, locked: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let indebted = byId.values.filter { $0.debtPoints > 0 }.map(\.memberId).sorted()
        guard !indebted.isEmpty else { return }
        for try await (memberId, kind, ownerId, points) in try await connection.query("""
            SELECT member_id, funder_kind, funder_id, points FROM member_debts
            WHERE mall_id = \(mallId) AND member_id = ANY(\(indebted)) AND points > 0
            ORDER BY member_id, owed_since, funder_kind, funder_id
            """, logger: logger).decode((Int64, Int16, Int64, Int64).self) {
            guard let funder = Funder(kind: kind, ownerId: ownerId) else { preconditionFailure("funder_kind is checked by the schema") }
            byId[memberId]?.debts.append(MemberDebt(funder: funder, points: points))
        }
        for member in byId.values where member.debtPoints > 0 {
            let owed = try MemberDebt.total(member.debts)
            guard owed != member.debtPoints else { continue }
            guard !locked else {
                throw DomainError.failedPrecondition(.ledgerInconsistent, "member \(member.memberCode)'s debts do not add up to its debt; run CheckLedger")
            }
            byId[member.memberId]?.debtPoints = owed
        }
    }

    func memberId(for key: MemberStore.LookupKey) -> Int64? {
        switch key {
        case .memberCode(let code): idByCode[code]
        case .phone(let phone): idByPhone[phone]
        case .qrToken(let token): idByToken[token]
        }
    }

    subscript(id: Int64) -> EarningMember? {
        get { byId[id] }
        set { byId[id] = newValue }
    }
}
