import AtriumDomain
import AtriumProto
import AtriumStore

/// Rows and domain values to protobuf, and protobuf enums to domain values (validated).
extension Atrium_V1_Role {
    init(_ role: Role) {
        switch role {
        case .platformOperator: self = .platformOperator
        case .headquarters: self = .headquarters
        case .merchant: self = .merchant
        case .partner: self = .partner
        case .memberApp: self = .memberApp
        }
    }
}

extension MerchantCategory {
    static func from(_ proto: Atrium_V1_MerchantCategory, field: String) throws(DomainError) -> MerchantCategory {
        guard let raw = Int16(exactly: proto.rawValue), let category = MerchantCategory(rawValue: raw) else {
            throw .invalid(field, "must be a merchant category")
        }
        return category
    }

    var proto: Atrium_V1_MerchantCategory { Atrium_V1_MerchantCategory(rawValue: Int(rawValue)) ?? .other }
}

extension Atrium_V1_ApiKey {
    init(_ row: ApiKeyRow) {
        self.init()
        id = row.id
        role = Atrium_V1_Role(row.role)
        mallID = row.mallId
        merchantID = row.merchantId ?? 0
        partnerID = row.partnerId ?? 0
        label = row.label
        prefix = row.prefix
        createdAtUnixMs = row.createdAtMilliseconds
        lastUsedAtUnixMs = row.lastUsedAtMilliseconds ?? 0
        revokedAtUnixMs = row.revokedAtMilliseconds ?? 0
    }
}

extension Atrium_V1_IssuedApiKey {
    init(_ issued: IssuedKey) {
        self.init()
        key = Atrium_V1_ApiKey(issued.key)
        secret = issued.secret
    }

    /// What a replay returns: the key without its secret, which the server never kept.
    static func withhold(_ issued: inout Atrium_V1_IssuedApiKey) {
        issued.secret = ""
        issued.secretWithheld = true
    }
}

extension Atrium_V1_Mall {
    init(_ row: MallRow) {
        self.init()
        id = row.id
        code = row.code
        createdAtUnixMs = row.createdAtMilliseconds
        settings = .with {
            let s = row.settings
            $0.name = s.name
            $0.currencyCode = s.currencyCode
            $0.timeZone = s.timeZone
            $0.redeemPoints = s.redeemPoints
            $0.redeemValueMinor = s.redeemValueMinor
            $0.issuePoints = s.issuePoints
            $0.issueValueMinor = s.issueValueMinor
            $0.expiryPolicy = Atrium_V1_ExpiryPolicyKind(rawValue: Int(s.expiryPolicy.kind)) ?? .never
            $0.expiryParameter = s.expiryPolicy.parameter
            $0.refundShortfallPolicy = s.refundShortfallPolicy == .allowDebt ? .allowDebt : .stopAtZero
            $0.breakageMallShareBasisPoints = s.breakageMallShareBasisPoints
            $0.pointsPaymentMaxShareBasisPoints = s.pointsPaymentMaxShareBasisPoints
            $0.pointsPaymentMinimumPoints = s.pointsPaymentMinimumPoints
            $0.returnedPointsValidityDays = s.returnedPointsValidityDays
        }
    }
}

extension Atrium_V1_Merchant {
    init(_ row: MerchantRow) {
        self.init()
        id = row.id
        code = row.code
        name = row.name
        category = row.category.proto
        status = row.status == .active ? .active : .suspended
        unitNumber = row.unitNumber
        settlement = .with {
            $0.accountName = row.settlement.accountName
            $0.bankName = row.settlement.bankName
            $0.accountNumber = row.settlement.accountNumber
            $0.settlementCycleDays = row.settlement.cycleDays
        }
        pendingDays = row.pendingDays
        suspensionReason = row.suspensionReason
        createdAtUnixMs = row.createdAtMilliseconds
        updatedAtUnixMs = row.updatedAtMilliseconds
    }
}

extension Atrium_V1_Partner {
    init(_ row: PartnerRow) {
        self.init()
        id = row.id
        code = row.code
        name = row.name
        createdAtUnixMs = row.createdAtMilliseconds
    }
}

extension SettlementAccount {
    /// Validates a settlement account from a request.
    static func from(_ proto: Atrium_V1_SettlementAccount, field: String) throws(DomainError) -> SettlementAccount {
        try Validate.text(proto.accountName, field: "\(field).account_name", max: Limits.nameLengthMax)
        try Validate.text(proto.bankName, field: "\(field).bank_name", max: Limits.nameLengthMax)
        guard proto.accountNumber.utf8.count <= 34, proto.accountNumber.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
            throw .invalid("\(field).account_number", "must be at most 34 letters and digits")
        }
        let cycle = proto.settlementCycleDays == 0 ? 30 : proto.settlementCycleDays
        try Validate.range(cycle, field: "\(field).settlement_cycle_days", 1...90)
        return SettlementAccount(accountName: proto.accountName, bankName: proto.bankName, accountNumber: proto.accountNumber, cycleDays: cycle)
    }
}
