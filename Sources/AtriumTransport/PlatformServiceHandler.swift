import AtriumDomain
import AtriumProto
import AtriumStore
import Foundation
import GRPCCore

/// The platform operator's RPCs: malls, their HQ credentials, and the operator's own keys.
public struct PlatformServiceHandler: Atrium_V1_PlatformService.SimpleServiceProtocol {
    let malls: MallStore
    let platformKeys: PlatformKeyStore
    let authenticator: Authenticator

    public init(malls: MallStore, platformKeys: PlatformKeyStore, authenticator: Authenticator) {
        self.malls = malls
        self.platformKeys = platformKeys
        self.authenticator = authenticator
    }

    public func createPlatformKey(request: Atrium_V1_CreatePlatformKeyRequest, context: ServerContext) async throws -> Atrium_V1_CreatePlatformKeyResponse {
        let caller = try Caller.require(.platformOperator)
        try Validate.text(request.label, field: "label", min: 1, max: Limits.labelLengthMax)
        let idempotent = try Idempotent.request("CreatePlatformKey", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_CreatePlatformKeyResponse.self) {
            Atrium_V1_IssuedApiKey.withhold(&$0.key)
        }
        return try await platformKeys.create(label: request.label, request: idempotent) { key in .with { $0.key = Atrium_V1_IssuedApiKey(key) } }
    }

    public func listPlatformKeys(request: Atrium_V1_ListPlatformKeysRequest, context: ServerContext) async throws -> Atrium_V1_ListPlatformKeysResponse {
        _ = try Caller.require(.platformOperator)
        let keys = try await platformKeys.list(limit: Limits.pageSizeMax)
        return .with { $0.keys = keys.map(Atrium_V1_ApiKey.init) }
    }

    public func revokePlatformKey(request: Atrium_V1_RevokePlatformKeyRequest, context: ServerContext) async throws -> Atrium_V1_RevokePlatformKeyResponse {
        let caller = try Caller.require(.platformOperator)
        try Validate.positiveId(request.keyID, field: "key_id")
        let idempotent = try Idempotent.request("RevokePlatformKey", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_RevokePlatformKeyResponse.self)
        let response = try await platformKeys.revoke(keyId: request.keyID, request: idempotent) { key in .with { $0.key = Atrium_V1_ApiKey(key) } }
        authenticator.forget(mallId: 0, keyId: request.keyID)
        return response
    }

    public func createMall(request: Atrium_V1_CreateMallRequest, context: ServerContext) async throws -> Atrium_V1_CreateMallResponse {
        let caller = try Caller.require(.platformOperator)
        try Validate.code(request.code, field: "code", lowercaseOnly: true)
        guard request.code.count >= 3 else { throw DomainError.invalid("code", "must have at least 3 characters") }
        let settings = try Self.settings(request.settings)
        let label = request.headquartersKeyLabel.isEmpty ? "first HQ key" : request.headquartersKeyLabel
        try Validate.text(label, field: "headquarters_key_label", max: Limits.labelLengthMax)
        let idempotent = try Idempotent.request("CreateMall", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_CreateMallResponse.self) {
            Atrium_V1_IssuedApiKey.withhold(&$0.headquartersKey)
        }
        return try await malls.createMall(code: request.code, settings: settings, keyLabel: label, request: idempotent) { mall, key in
            .with {
                $0.mall = Atrium_V1_Mall(mall)
                $0.headquartersKey = Atrium_V1_IssuedApiKey(key)
            }
        }
    }

    public func getMall(request: Atrium_V1_GetMallRequest, context: ServerContext) async throws -> Atrium_V1_GetMallResponse {
        _ = try Caller.require(.platformOperator)
        try Validate.positiveId(request.mallID, field: "mall_id")
        guard let mall = try await malls.mall(request.mallID) else { throw DomainError.notFound("mall \(request.mallID)") }
        return .with { $0.mall = Atrium_V1_Mall(mall) }
    }

    public func listMalls(request: Atrium_V1_ListMallsRequest, context: ServerContext) async throws -> Atrium_V1_ListMallsResponse {
        _ = try Caller.require(.platformOperator)
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await malls.listMalls(afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.malls = rows.map(Atrium_V1_Mall.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func issueHeadquartersKey(request: Atrium_V1_IssueHeadquartersKeyRequest, context: ServerContext) async throws -> Atrium_V1_IssueHeadquartersKeyResponse {
        let caller = try Caller.require(.platformOperator)
        try Validate.positiveId(request.mallID, field: "mall_id")
        try Validate.text(request.label, field: "label", min: 1, max: Limits.labelLengthMax)
        let idempotent = try Idempotent.request("IssueHeadquartersKey", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_IssueHeadquartersKeyResponse.self) {
            Atrium_V1_IssuedApiKey.withhold(&$0.key)
        }
        return try await malls.issueHeadquartersKey(mallId: request.mallID, label: request.label, request: idempotent) { key in
            .with { $0.key = Atrium_V1_IssuedApiKey(key) }
        }
    }

    /// Validates settings; zero means "the default" for the point values and policies.
    static func settings(_ proto: Atrium_V1_MallSettings) throws -> MallSettings {
        func orDefault<Value: BinaryInteger>(_ value: Value, _ fallback: Value) -> Value { value == 0 ? fallback : value }
        let shortfall: RefundShortfallPolicy
        switch proto.refundShortfallPolicy {
        case .unspecified, .stopAtZero: shortfall = .stopAtZero
        case .allowDebt: shortfall = .allowDebt
        case .UNRECOGNIZED: throw DomainError.invalid("settings.refund_shortfall_policy", "is not a known policy")
        }
        let redeemPoints = orDefault(proto.redeemPoints, 100), redeemValue = orDefault(proto.redeemValueMinor, 100)
        let settings = MallSettings(
            name: proto.name, currencyCode: proto.currencyCode, timeZone: proto.timeZone,
            redeemPoints: redeemPoints, redeemValueMinor: redeemValue,
            issuePoints: orDefault(proto.issuePoints, redeemPoints), issueValueMinor: orDefault(proto.issueValueMinor, redeemValue),
            expiryPolicy: try ExpiryPolicy.from(kind: Int16(exactly: proto.expiryPolicy.rawValue) ?? -1, parameter: proto.expiryParameter),
            refundShortfallPolicy: shortfall, breakageMallShareBasisPoints: proto.breakageMallShareBasisPoints,
            pointsPaymentMaxShareBasisPoints: proto.pointsPaymentMaxShareBasisPoints, pointsPaymentMinimumPoints: proto.pointsPaymentMinimumPoints,
            returnedPointsValidityDays: orDefault(proto.returnedPointsValidityDays, 30))
        try settings.validate(isKnownTimeZone: { TimeZone(identifier: $0) != nil })
        return settings
    }
}
