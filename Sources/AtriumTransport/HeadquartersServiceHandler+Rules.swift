import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// HQ's earning rules, tiers, campaigns and the ledger check.
extension HeadquartersServiceHandler {
    public func setCategoryRule(request: Atrium_V1_SetCategoryRuleRequest, context: ServerContext) async throws -> Atrium_V1_SetCategoryRuleResponse {
        let hq = try Caller.require(.headquarters)
        let category = try MerchantCategory.from(request.category, field: "category")
        guard request.hasRule else { throw DomainError.invalid("rule", "is required") }
        let rule = try EarningRule.from(request.rule, field: "rule")
        let idempotent = try Idempotent.request("SetCategoryRule", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_SetCategoryRuleResponse.self)
        return try await rules.setCategoryRule(mallId: hq.mallId, category: category, rule: rule, request: idempotent) { .with { $0.rule = rule.proto } }
    }

    public func setMerchantRule(request: Atrium_V1_SetMerchantRuleRequest, context: ServerContext) async throws -> Atrium_V1_SetMerchantRuleResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        guard request.hasRule else { throw DomainError.invalid("rule", "is required") }
        let rule = try EarningRule.from(request.rule, field: "rule")
        let idempotent = try Idempotent.request("SetMerchantRule", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_SetMerchantRuleResponse.self)
        return try await rules.setMerchantRule(mallId: hq.mallId, merchantId: request.merchantID, rule: rule, request: idempotent) { .with { $0.rule = rule.proto } }
    }

    public func clearMerchantRule(request: Atrium_V1_ClearMerchantRuleRequest, context: ServerContext) async throws -> Atrium_V1_ClearMerchantRuleResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.merchantID, field: "merchant_id")
        let idempotent = try Idempotent.request("ClearMerchantRule", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_ClearMerchantRuleResponse.self)
        return try await rules.setMerchantRule(mallId: hq.mallId, merchantId: request.merchantID, rule: nil, request: idempotent) { Atrium_V1_ClearMerchantRuleResponse() }
    }

    public func listEarningRules(request: Atrium_V1_ListEarningRulesRequest, context: ServerContext) async throws -> Atrium_V1_ListEarningRulesResponse {
        let hq = try Caller.require(.headquarters)
        let set = try await rules.listRules(mallId: hq.mallId)
        return .with {
            $0.categoryRules = set.categoryRules.map { category, rule in .with { $0.category = category.proto; $0.rule = rule.proto } }
            $0.merchantRules = set.merchantRules.map { id, rule in .with { $0.merchantID = id; $0.rule = rule.proto } }
        }
    }

    public func setTier(request: Atrium_V1_SetTierRequest, context: ServerContext) async throws -> Atrium_V1_SetTierResponse {
        let hq = try Caller.require(.headquarters)
        guard request.hasTier else { throw DomainError.invalid("tier", "is required") }
        let tier = Tier(code: request.tier.code, name: request.tier.name, rank: request.tier.rank, multiplierBasisPoints: request.tier.multiplierBasisPoints)
        try tier.validate()
        let idempotent = try Idempotent.request("SetTier", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_SetTierResponse.self)
        return try await rules.setTier(mallId: hq.mallId, tier: tier, request: idempotent) { .with { $0.tier = tier.proto } }
    }

    public func listTiers(request: Atrium_V1_ListTiersRequest, context: ServerContext) async throws -> Atrium_V1_ListTiersResponse {
        let hq = try Caller.require(.headquarters)
        let tiers = try await rules.listTiers(mallId: hq.mallId)
        return .with { $0.tiers = tiers.map(\.proto) }
    }

    public func createCampaign(request: Atrium_V1_CreateCampaignRequest, context: ServerContext) async throws -> Atrium_V1_CreateCampaignResponse {
        let hq = try Caller.require(.headquarters)
        guard request.hasCampaign else { throw DomainError.invalid("campaign", "is required") }
        let campaign = try Campaign.from(request.campaign)
        let idempotent = try Idempotent.request("CreateCampaign", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreateCampaignResponse.self)
        return try await rules.createCampaign(mallId: hq.mallId, campaign: campaign, request: idempotent) { created in .with { $0.campaign = created.proto } }
    }

    public func endCampaign(request: Atrium_V1_EndCampaignRequest, context: ServerContext) async throws -> Atrium_V1_EndCampaignResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.campaignID, field: "campaign_id")
        let idempotent = try Idempotent.request("EndCampaign", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_EndCampaignResponse.self)
        return try await rules.endCampaign(mallId: hq.mallId, id: request.campaignID, request: idempotent) { ended in .with { $0.campaign = ended.proto } }
    }

    public func listCampaigns(request: Atrium_V1_ListCampaignsRequest, context: ServerContext) async throws -> Atrium_V1_ListCampaignsResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let campaigns = try await rules.listCampaigns(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.campaigns = campaigns.map(\.proto)
            $0.nextPageToken = PageToken.next(ids: campaigns.map(\.id), pageSize: limit)
        }
    }

    public func checkLedger(request: Atrium_V1_CheckLedgerRequest, context: ServerContext) async throws -> Atrium_V1_CheckLedgerResponse {
        let hq = try Caller.require(.headquarters)
        let check = try await ledger.check(mallId: hq.mallId)
        return .with {
            $0.ok = check.violations.isEmpty
            $0.violations = check.violations
            $0.journalsChecked = check.journalsChecked
            $0.membersChecked = check.membersChecked
        }
    }

    /// Idempotent without a request id: it expires what is due, and a lot expires once (see `ExpiryStore`).
    public func expirePoints(request: Atrium_V1_ExpirePointsRequest, context: ServerContext) async throws -> Atrium_V1_ExpirePointsResponse {
        let hq = try Caller.require(.headquarters)
        let (tally, moreDue) = try await expiry.expireDue(mallId: hq.mallId, asOfMilliseconds: now(), budget: .seconds(Limits.expiryCallBudgetSeconds))
        return .with {
            $0.lotsExpired = tally.lotsExpired
            $0.pointsExpired = tally.pointsExpired
            $0.membersDebited = tally.membersDebited
            $0.moreDue = moreDue
        }
    }
}
