import AtriumDomain
import Logging
import PostgresNIO

/// One member of an import, validated by the transport.
public struct ImportedMember: Sendable {
    public var phone: String
    public var name: String
    public var birthday: LocalDate?
    /// nil: the mall's entry tier.
    public var tierCode: String?

    public init(phone: String, name: String, birthday: LocalDate?, tierCode: String?) {
        self.phone = phone
        self.name = name
        self.birthday = birthday
        self.tierCode = tierCode
    }
}

extension MemberStore {
    /// Registers `members` in one statement, all or none; answers them in the given order.
    /// Phones are distinct (the transport checks); one already registered refuses the whole call.
    public func importMembers<R: Sendable>(mallId: Int64, _ members: [ImportedMember], request: IdempotentRequest<R>, respond: @escaping @Sendable ([MemberRow]) -> R) async throws -> R {
        precondition((1...Limits.importMembersMax).contains(members.count), "the transport bounds imports")
        return try await db.mutate(mallId, request) { connection in
            let tiers = try await Self.tierCodes(mallId: mallId, on: connection, logger: logger)
            let entryTier = tiers.first ?? Tier.defaultCode
            for (i, member) in members.enumerated() {
                if let code = member.tierCode, !tiers.contains(code) { throw DomainError.invalid("members[\(i)].tier_code", "the mall has no tier \(code)") }
            }
            var rng = SystemRandomNumberGenerator()
            let codes = members.map { _ in MemberCode.generate(using: &rng) }
            let referrals = members.map { _ in "R" + MemberCode.generate(using: &rng).dropFirst() }
            let rows = try await connection.query("""
                INSERT INTO members (mall_id, member_code, phone, name, birthday, tier_code, referral_code)
                SELECT \(mallId), t.code, t.phone, t.name, nullif(t.birthday, '')::date, t.tier, t.referral
                FROM unnest(\(codes), \(members.map(\.phone)), \(members.map(\.name)), \(members.map { $0.birthday?.description ?? "" }),
                            \(members.map { $0.tierCode ?? entryTier }), \(referrals)) AS t(code, phone, name, birthday, tier, referral)
                ON CONFLICT DO NOTHING
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            let inserted = Dictionary(try await Self.decode(rows).map { ($0.phone, $0) }, uniquingKeysWith: { first, _ in first })
            guard inserted.count == members.count else {
                // Throwing rolls back what was inserted: all or none.
                if let taken = members.firstIndex(where: { inserted[$0.phone] == nil }),
                   try await Self.member(mallId: mallId, phone: members[taken].phone, on: connection, logger: logger) != nil {
                    throw DomainError.alreadyExists("members[\(taken)].phone is registered already")
                }
                throw DomainError.unavailable("could not allocate member codes; retry")
            }
            return respond(members.compactMap { inserted[$0.phone] })
        }
    }
}
