import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// Mall HQ: merchants, partners and credentials. Rules, tiers, campaigns and expiry are in
/// `HeadquartersServiceHandler+Rules.swift`, settlement in `+Settlement.swift`. The HQ key's mall is the only mall it touches.
public struct HeadquartersServiceHandler: Atrium_V1_HeadquartersService.SimpleServiceProtocol {
    let merchants: MerchantStore
    let credentials: CredentialStore
    let rules: RuleStore
    let ledger: LedgerStore
    let expiry: ExpiryStore
    let settlement: SettlementStore
    let coupons: CouponStore
    let rewards: RewardStore
    let authenticator: Authenticator
    let now: @Sendable () -> Int64

    public init(
        merchants: MerchantStore, credentials: CredentialStore, rules: RuleStore, ledger: LedgerStore, expiry: ExpiryStore, settlement: SettlementStore, coupons: CouponStore, rewards: RewardStore,
        authenticator: Authenticator,
        now: @escaping @Sendable () -> Int64
    ) {
        self.merchants = merchants
        self.credentials = credentials
        self.rules = rules
        self.ledger = ledger
        self.expiry = expiry
        self.settlement = settlement
        self.coupons = coupons
        self.rewards = rewards
        self.authenticator = authenticator
        self.now = now
    }

    public func createMerchant(request: Atrium_V1_CreateMerchantRequest, context: ServerContext) async throws -> Atrium_V1_CreateMerchantResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.code(request.code, field: "code")
        try Validate.text(request.name, field: "name", min: 1, max: Limits.nameLengthMax)
        let category = try MerchantCategory.from(request.category, field: "category")
        try Validate.text(request.unitNumber, field: "unit_number", max: 20)
        let settlement = try SettlementAccount.from(request.settlement, field: "settlement")
        try Validate.range(request.pendingDays, field: "pending_days", 0...Limits.pendingDaysMax)
        let idempotent = try Idempotent.request("CreateMerchant", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreateMerchantResponse.self)
        return try await merchants.createMerchant(
            mallId: hq.mallId, code: request.code, name: request.name, category: category, unitNumber: request.unitNumber,
            settlement: settlement, pendingDays: request.pendingDays, request: idempotent
        ) { row in .with { $0.merchant = Atrium_V1_Merchant(row) } }
    }

    public func updateMerchant(request: Atrium_V1_UpdateMerchantRequest, context: ServerContext) async throws -> Atrium_V1_UpdateMerchantResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        var changes = MerchantChanges()
        if request.hasName {
            try Validate.text(request.name, field: "name", min: 1, max: Limits.nameLengthMax)
            changes.name = request.name
        }
        if request.hasCategory { changes.category = try MerchantCategory.from(request.category, field: "category") }
        if request.hasUnitNumber {
            try Validate.text(request.unitNumber, field: "unit_number", max: 20)
            changes.unitNumber = request.unitNumber
        }
        if request.hasSettlement { changes.settlement = try SettlementAccount.from(request.settlement, field: "settlement") }
        if request.hasPendingDays {
            try Validate.range(request.pendingDays, field: "pending_days", 0...Limits.pendingDaysMax)
            changes.pendingDays = request.pendingDays
        }
        let idempotent = try Idempotent.request("UpdateMerchant", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_UpdateMerchantResponse.self)
        return try await merchants.updateMerchant(mallId: hq.mallId, id: request.merchantID, changes: changes, request: idempotent) { row in
            .with { $0.merchant = Atrium_V1_Merchant(row) }
        }
    }

    public func suspendMerchant(request: Atrium_V1_SuspendMerchantRequest, context: ServerContext) async throws -> Atrium_V1_SuspendMerchantResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        try Validate.text(request.reason, field: "reason", min: 1, max: Limits.reasonLengthMax)
        let idempotent = try Idempotent.request("SuspendMerchant", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_SuspendMerchantResponse.self)
        return try await merchants.setStatus(mallId: hq.mallId, id: request.merchantID, status: .suspended, reason: request.reason, request: idempotent) { row in
            .with { $0.merchant = Atrium_V1_Merchant(row) }
        }
    }

    public func reactivateMerchant(request: Atrium_V1_ReactivateMerchantRequest, context: ServerContext) async throws -> Atrium_V1_ReactivateMerchantResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        let idempotent = try Idempotent.request("ReactivateMerchant", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_ReactivateMerchantResponse.self)
        return try await merchants.setStatus(mallId: hq.mallId, id: request.merchantID, status: .active, reason: "", request: idempotent) { row in
            .with { $0.merchant = Atrium_V1_Merchant(row) }
        }
    }

    public func getMerchant(request: Atrium_V1_GetMerchantRequest, context: ServerContext) async throws -> Atrium_V1_GetMerchantResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        guard let row = try await merchants.merchant(mallId: hq.mallId, id: request.merchantID) else {
            throw DomainError.notFound("merchant \(request.merchantID)")
        }
        return .with { $0.merchant = Atrium_V1_Merchant(row) }
    }

    public func listMerchants(request: Atrium_V1_ListMerchantsRequest, context: ServerContext) async throws -> Atrium_V1_ListMerchantsResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let category = request.category == .unspecified ? nil : try MerchantCategory.from(request.category, field: "category")
        let status: MerchantStatus?
        switch request.status {
        case .unspecified: status = nil
        case .active: status = .active
        case .suspended: status = .suspended
        case .UNRECOGNIZED: throw DomainError.invalid("status", "is not a merchant status")
        }
        let rows = try await merchants.listMerchants(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit, category: category, status: status)
        return .with {
            $0.merchants = rows.map(Atrium_V1_Merchant.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func createPartner(request: Atrium_V1_CreatePartnerRequest, context: ServerContext) async throws -> Atrium_V1_CreatePartnerResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.code(request.code, field: "code")
        try Validate.text(request.name, field: "name", min: 1, max: Limits.nameLengthMax)
        let idempotent = try Idempotent.request("CreatePartner", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreatePartnerResponse.self)
        return try await merchants.createPartner(mallId: hq.mallId, code: request.code, name: request.name, request: idempotent) { row in
            .with { $0.partner = Atrium_V1_Partner(row) }
        }
    }

    public func listPartners(request: Atrium_V1_ListPartnersRequest, context: ServerContext) async throws -> Atrium_V1_ListPartnersResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await merchants.listPartners(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.partners = rows.map(Atrium_V1_Partner.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func createApiKey(request: Atrium_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Atrium_V1_CreateApiKeyResponse {
        let hq = try Caller.require(.headquarters)
        let role: Role
        var merchantId: Int64?, partnerId: Int64?
        switch request.role {
        case .headquarters:
            role = .headquarters
        case .merchant:
            role = .merchant
            try Validate.positiveId(request.merchantID, field: "merchant_id")
            merchantId = request.merchantID
        case .partner:
            role = .partner
            try Validate.positiveId(request.partnerID, field: "partner_id")
            partnerId = request.partnerID
        case .memberApp:
            role = .memberApp
        case .platformOperator:
            throw DomainError.permissionDenied("HQ cannot create platform operator keys")
        case .unspecified, .UNRECOGNIZED:
            throw DomainError.invalid("role", "must be HEADQUARTERS, MERCHANT, PARTNER or MEMBER_APP")
        }
        if role != .merchant && request.merchantID != 0 { throw DomainError.invalid("merchant_id", "is only for MERCHANT keys") }
        if role != .partner && request.partnerID != 0 { throw DomainError.invalid("partner_id", "is only for PARTNER keys") }
        try Validate.text(request.label, field: "label", min: 1, max: Limits.labelLengthMax)
        let idempotent = try Idempotent.request("CreateApiKey", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreateApiKeyResponse.self) {
            Atrium_V1_IssuedApiKey.withhold(&$0.key)
        }
        return try await credentials.createKey(mallId: hq.mallId, role: role, merchantId: merchantId, partnerId: partnerId, label: request.label, request: idempotent) { key in
            .with { $0.key = Atrium_V1_IssuedApiKey(key) }
        }
    }

    public func listApiKeys(request: Atrium_V1_ListApiKeysRequest, context: ServerContext) async throws -> Atrium_V1_ListApiKeysResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await credentials.listKeys(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit, includeRevoked: request.includeRevoked)
        return .with {
            $0.keys = rows.map(Atrium_V1_ApiKey.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func revokeApiKey(request: Atrium_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Atrium_V1_RevokeApiKeyResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.keyID, field: "key_id")
        let idempotent = try Idempotent.request("RevokeApiKey", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_RevokeApiKeyResponse.self)
        let response = try await credentials.revokeKey(mallId: hq.mallId, keyId: request.keyID, request: idempotent) { row in
            .with { $0.key = Atrium_V1_ApiKey(row) }
        }
        authenticator.forget(mallId: hq.mallId, keyId: request.keyID)
        return response
    }
}
