import AtriumDomain
import Logging
import PostgresNIO

/// A member's editable profile; nil keeps the stored value.
public struct MemberProfileChanges: Sendable {
    public var name: String?
    public var birthday: LocalDate??
    public var phone: String?

    public init(name: String? = nil, birthday: LocalDate?? = nil, phone: String? = nil) {
        self.name = name
        self.birthday = birthday
        self.phone = phone
    }
}

/// Mall-level member identities: one per phone number per mall.
public struct MemberStore: Sendable {
    static let codeAttemptsMax = 5

    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    public func register<R: Sendable>(mallId: Int64, phone: String, name: String, birthday: LocalDate?, referralCode: String, registeredByMerchantId: Int64?, request: IdempotentRequest<R>, respond: @escaping @Sendable (MemberRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            var referrer: Int64?
            if !referralCode.isEmpty {
                for try await id in try await connection.query("SELECT id FROM members WHERE mall_id = \(mallId) AND referral_code = \(referralCode)", logger: logger).decode(Int64.self) {
                    referrer = id
                }
                guard referrer != nil else { throw DomainError.invalid("referral_code", "no member has this referral code") }
            }
            let tierCode = try await Self.tierCodes(mallId: mallId, on: connection, logger: logger).first ?? Tier.defaultCode
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<Self.codeAttemptsMax {
                let code = MemberCode.generate(using: &rng)
                let ownReferral = "R" + MemberCode.generate(using: &rng).dropFirst()
                let rows = try await connection.query("""
                    INSERT INTO members (mall_id, member_code, phone, name, birthday, tier_code, referral_code, referred_by_member_id, registered_by_merchant_id)
                    VALUES (\(mallId), \(code), \(phone), \(name), \(birthday?.description)::date, \(tierCode), \(ownReferral), \(referrer), \(registeredByMerchantId))
                    ON CONFLICT DO NOTHING
                    RETURNING \(unescaped: Self.columns)
                    """, logger: logger)
                if let member = try await Self.decode(rows).first { return respond(member) }
                if try await Self.member(mallId: mallId, phone: phone, on: connection, logger: logger) != nil {
                    throw DomainError.alreadyExists("a member with this phone number is registered")
                }
            }
            throw DomainError.unavailable("could not allocate a member code; retry")
        }
    }

    /// The mall's tier codes, lowest rank first: the first is the tier new members get.
    static func tierCodes(mallId: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var codes: [String] = []
        for try await code in try await connection.query("SELECT code FROM tiers WHERE mall_id = \(mallId) ORDER BY rank, code", logger: logger).decode(String.self) {
            codes.append(code)
        }
        return codes
    }

    /// The member `id`; with `visibleTo`, only if that merchant may read it by id: it registered
    /// the member or has an order of theirs (OWASP API #1: a merchant must not walk the mall's
    /// members by sequential id). Otherwise nil, as for a member of another mall; a till finds a
    /// member who is present by code, phone or QR token (`lookup`).
    public func member(mallId: Int64, id: Int64, visibleTo merchantId: Int64? = nil) async throws -> MemberRow? {
        try await db.withMall(mallId) { connection in
            let merchant = merchantId ?? 0
            return try await Self.decode(connection.query("""
                SELECT \(unescaped: Self.columns) FROM members m
                WHERE m.mall_id = \(mallId) AND m.id = \(id) AND (\(merchant)::bigint = 0 OR m.registered_by_merchant_id = \(merchant)
                    OR EXISTS (SELECT 1 FROM orders o WHERE o.mall_id = \(mallId) AND o.member_id = m.id AND o.merchant_id = \(merchant)))
                """, logger: logger)).first
        }
    }

    public enum LookupKey: Sendable {
        case phone(String)
        case memberCode(String)
        case qrToken(String)
    }

    public func lookup(mallId: Int64, key: LookupKey) async throws -> MemberRow? {
        try await db.withMall(mallId) { connection in try await Self.lookup(mallId: mallId, key: key, lock: false, on: connection, logger: logger) }
    }

    public func issueQrToken(mallId: Int64, memberId: Int64, lifetimeMilliseconds: Int64) async throws -> (token: String, expiresAtMilliseconds: Int64) {
        try await db.withMall(mallId) { connection in
            guard let member = try await Self.decode(connection.query("SELECT \(unescaped: Self.columns) FROM members WHERE mall_id = \(mallId) AND id = \(memberId)", logger: logger)).first else {
                throw DomainError.notFound("member \(memberId)")
            }
            guard !member.frozen else { throw DomainError.failedPrecondition(.memberFrozen, "member \(memberId) is frozen") }
            let token = "Q" + Keys.randomSecret().prefix(24)
            // A member holds a few tokens at most: the expired ones go as each new one comes.
            try await connection.query("""
                DELETE FROM member_qr_tokens WHERE mall_id = \(mallId) AND member_id = \(memberId) AND expires_at <= now()
                """, logger: logger)
            let rows = try await connection.query("""
                INSERT INTO member_qr_tokens (mall_id, token, member_id, expires_at)
                VALUES (\(mallId), \(token), \(memberId), now() + \(lifetimeMilliseconds) * interval '1 millisecond')
                RETURNING epoch_ms(expires_at)
                """, logger: logger)
            for try await expires in rows.decode(Int64.self) { return (token, expires) }
            throw DomainError.unavailable("token insert returned nothing")
        }
    }

    public func updateProfile<R: Sendable>(mallId: Int64, memberId: Int64, changes: MemberProfileChanges, request: IdempotentRequest<R>, respond: @escaping @Sendable (MemberRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            if let phone = changes.phone, let other = try await Self.member(mallId: mallId, phone: phone, on: connection, logger: logger), other.id != memberId {
                throw DomainError.alreadyExists("another member has this phone number")
            }
            let clearBirthday = changes.birthday.map { $0 == nil } ?? false
            let birthday: String? = changes.birthday.flatMap { $0?.description }
            let rows = try await connection.query("""
                UPDATE members SET name = coalesce(\(changes.name), name), phone = coalesce(\(changes.phone), phone),
                    birthday = CASE WHEN \(clearBirthday) THEN NULL ELSE coalesce(\(birthday)::date, birthday) END
                WHERE mall_id = \(mallId) AND id = \(memberId)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let member = try await Self.decode(rows).first else { throw DomainError.notFound("member \(memberId)") }
            return respond(member)
        }
    }

    public func setTier<R: Sendable>(mallId: Int64, memberId: Int64, tierCode: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (MemberRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            var known = tierCode == Tier.defaultCode
            for try await _ in try await connection.query("SELECT 1 FROM tiers WHERE mall_id = \(mallId) AND code = \(tierCode)", logger: logger) { known = true }
            guard known else { throw DomainError.notFound("tier \(tierCode)") }
            let rows = try await connection.query("""
                UPDATE members SET tier_code = \(tierCode) WHERE mall_id = \(mallId) AND id = \(memberId) RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let member = try await Self.decode(rows).first else { throw DomainError.notFound("member \(memberId)") }
            return respond(member)
        }
    }

    public func setFrozen<R: Sendable>(mallId: Int64, memberId: Int64, frozen: Bool, reason: String, request: IdempotentRequest<R>, respond: @escaping @Sendable (MemberRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            let rows = try await connection.query("""
                UPDATE members SET frozen = \(frozen), frozen_reason = \(reason) WHERE mall_id = \(mallId) AND id = \(memberId)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let member = try await Self.decode(rows).first else { throw DomainError.notFound("member \(memberId)") }
            return respond(member)
        }
    }

    static let columns = """
        id, member_code, phone, name, coalesce(iso_date(birthday), ''), tier_code, frozen, referral_code,
        referred_by_member_id, registered_by_merchant_id, epoch_ms(registered_at)
        """

    static func member(mallId: Int64, phone: String, on connection: PostgresConnection, logger: Logger) async throws -> MemberRow? {
        try await decode(connection.query("SELECT \(unescaped: columns) FROM members WHERE mall_id = \(mallId) AND phone = \(phone)", logger: logger)).first
    }

    static func lookup(mallId: Int64, key: LookupKey, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> MemberRow? {
        let suffix = lock ? " FOR UPDATE" : ""
        switch key {
        case .phone(let phone):
            return try await decode(connection.query("SELECT \(unescaped: columns) FROM members WHERE mall_id = \(mallId) AND phone = \(phone)\(unescaped: suffix)", logger: logger)).first
        case .memberCode(let code):
            return try await decode(connection.query("SELECT \(unescaped: columns) FROM members WHERE mall_id = \(mallId) AND member_code = \(code)\(unescaped: suffix)", logger: logger)).first
        case .qrToken(let token):
            return try await decode(connection.query("""
                SELECT \(unescaped: columns) FROM members WHERE mall_id = \(mallId) AND id = (
                    SELECT member_id FROM member_qr_tokens WHERE mall_id = \(mallId) AND token = \(token) AND expires_at > now())\(unescaped: suffix)
                """, logger: logger)).first
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [MemberRow] {
        var result: [MemberRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            result.append(MemberRow(
                id: try r[0].decode(Int64.self), memberCode: try r[1].decode(String.self), phone: try r[2].decode(String.self),
                name: try r[3].decode(String.self), birthday: try r[4].decode(String.self), tierCode: try r[5].decode(String.self),
                frozen: try r[6].decode(Bool.self), referralCode: try r[7].decode(String.self),
                referredByMemberId: try r[8].decode(Int64?.self), registeredByMerchantId: try r[9].decode(Int64?.self),
                registeredAtMilliseconds: try r[10].decode(Int64.self)))
        }
        return result
    }
}
