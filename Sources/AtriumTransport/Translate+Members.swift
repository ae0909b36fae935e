import AtriumDomain
import AtriumProto
import AtriumStore

extension Atrium_V1_Member {
    /// HQ sees the member in full; a merchant sees the code, tier and status, with the phone and
    /// name masked and the birthday withheld.
    init(_ row: MemberRow, for caller: Principal) {
        self.init()
        // The member app shows members their own profile.
        let full = caller.role == .headquarters || caller.role == .memberApp
        id = row.id
        memberCode = row.memberCode
        phone = full ? row.phone : PhoneNumber.masked(row.phone)
        name = full ? row.name : PersonName.masked(row.name)
        birthday = full ? row.birthday : ""
        tierCode = row.tierCode
        frozen = row.frozen
        referralCode = row.referralCode
        referredByMemberID = full ? row.referredByMemberId ?? 0 : 0
        registeredAtUnixMs = row.registeredAtMilliseconds
        registeredByMerchantID = row.registeredByMerchantId ?? 0
    }
}

extension Atrium_V1_ExplanationLine {
    init(_ line: StoredEarnLine) {
        self.init()
        rule = line.rule
        description_p = line.description
        points = line.points
        funder = line.funder
    }
}

extension Atrium_V1_Lot {
    init(_ lot: Lot) {
        self.init()
        id = lot.id
        amountPoints = lot.amountPoints
        remainingPoints = lot.remainingPoints
        earnedAtUnixMs = lot.earnedAtMilliseconds
        availableAtUnixMs = lot.availableAtMilliseconds
        expiresAtUnixMs = lot.expiresAtMilliseconds ?? 0
        funder = lot.funder.description
        source = lot.orderId != nil ? "order" : "adjustment"
        orderID = lot.orderId ?? 0
        expiredPoints = lot.expiredPoints
    }
}

extension Atrium_V1_Transaction {
    init(_ row: JournalRow) {
        self.init()
        id = row.id
        switch row.kind {
        case .earn: kind = .earn
        case .refund: kind = .refund
        case .adjust: kind = .adjust
        case .spend: kind = .spend
        case .expire: kind = .expire
        case .spendReturn: kind = .spendReturned
        // Never listed (`LedgerStore.journals` lists what moved the member's points): the
        // earn journal beside it shows the points, and the debt is in the balance.
        case .repay: kind = .adjust
        // Clearing entries in money, never journals.
        case .couponSubsidy, .couponSubsidyReturned, .rewardFulfilled: kind = .adjust
        }
        points = row.memberPoints
        orderID = row.orderId ?? 0
        merchantID = row.merchantId ?? 0
        description_p = row.description
        lines = row.lines.map(Atrium_V1_ExplanationLine.init)
        occurredAtUnixMs = row.createdAtMilliseconds
    }
}

/// The member a merchant or HQ names in a lookup or an order.
enum MemberKey {
    static func from(_ ref: Atrium_V1_MemberRef, field: String) throws -> MemberStore.LookupKey {
        switch ref.key {
        case .memberCode(let code):
            try MemberCode.validate(code, field: "\(field).member_code")
            return .memberCode(code)
        case .qrToken(let token):
            try Validate.code(token, field: "\(field).qr_token", max: 64)
            return .qrToken(token)
        case nil:
            throw DomainError.invalid(field, "is required: a member_code or a qr_token")
        }
    }
}

extension Atrium_V1_PointHold {
    init(_ row: PointHoldRow) {
        self.init()
        id = row.id
        memberID = row.memberId
        merchantID = row.merchantId ?? 0
        points = row.points
        status = Atrium_V1_PointHoldStatus(rawValue: Int(row.status.rawValue)) ?? .unspecified
        createdAtUnixMs = row.createdAtMilliseconds
        expiresAtUnixMs = row.expiresAtMilliseconds
    }
}
