/// Who a credential speaks for.
public enum Role: Int16, Sendable, CaseIterable {
    case platformOperator = 1
    case headquarters = 2
    case merchant = 3
    case partner = 4
    /// The backend of the mall's member app (its mini-program or app): registers members, reads
    /// one member's profile, balance and history, issues QR tokens. No HQ powers (rules,
    /// merchants, keys, tiers, freezing) and no till's (orders, refunds).
    case memberApp = 5
}

/// The authenticated caller of one request. The credential alone decides the mall: no request
/// field can name another mall.
public struct Principal: Sendable, Equatable {
    public let role: Role
    public let keyId: Int64
    /// 0 for the platform operator.
    public let mallId: Int64
    public let merchantId: Int64?
    public let partnerId: Int64?

    public init(role: Role, keyId: Int64, mallId: Int64, merchantId: Int64? = nil, partnerId: Int64? = nil) {
        self.role = role
        self.keyId = keyId
        self.mallId = mallId
        self.merchantId = merchantId
        self.partnerId = partnerId
    }

    /// Refuses the call unless the caller has one of `roles`.
    public func require(_ roles: Role...) throws(DomainError) {
        guard roles.contains(role) else {
            throw .permissionDenied("role \(role) may not call this method")
        }
    }
}
