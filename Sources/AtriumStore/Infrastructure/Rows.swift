import AtriumDomain

/// Plain rows the store returns. The transport turns them into protobuf messages.
public struct MallRow: Sendable, Equatable {
    public var id: Int64
    public var code: String
    public var settings: MallSettings
    public var createdAtMilliseconds: Int64
}

public struct ApiKeyRow: Sendable, Equatable {
    public var id: Int64
    public var role: Role
    public var mallId: Int64
    public var merchantId: Int64?
    public var partnerId: Int64?
    public var label: String
    public var prefix: String
    public var createdAtMilliseconds: Int64
    public var lastUsedAtMilliseconds: Int64?
    public var revokedAtMilliseconds: Int64?
}

/// A key as created: `secret` is the bearer token, never stored.
public struct IssuedKey: Sendable, Equatable {
    public var key: ApiKeyRow
    public var secret: String
}

public struct SettlementAccount: Sendable, Equatable {
    public var accountName: String
    public var bankName: String
    public var accountNumber: String
    public var cycleDays: Int32

    public init(accountName: String = "", bankName: String = "", accountNumber: String = "", cycleDays: Int32 = 30) {
        self.accountName = accountName
        self.bankName = bankName
        self.accountNumber = accountNumber
        self.cycleDays = cycleDays
    }
}

public struct MerchantRow: Sendable, Equatable {
    public var id: Int64
    public var code: String
    public var name: String
    public var category: MerchantCategory
    public var status: MerchantStatus
    public var unitNumber: String
    public var settlement: SettlementAccount
    public var pendingDays: Int32
    public var suspensionReason: String
    public var createdAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64
}

public struct PartnerRow: Sendable, Equatable {
    public var id: Int64
    public var code: String
    public var name: String
    public var createdAtMilliseconds: Int64
}


public struct MemberRow: Sendable, Equatable {
    public var id: Int64
    public var memberCode: String
    public var phone: String
    public var name: String
    /// "YYYY-MM-DD" or "".
    public var birthday: String
    public var tierCode: String
    public var frozen: Bool
    public var referralCode: String
    public var referredByMemberId: Int64?
    public var registeredByMerchantId: Int64?
    public var registeredAtMilliseconds: Int64
}
