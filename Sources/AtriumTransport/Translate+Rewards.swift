import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// HQ's rewards of the points mall.
extension HeadquartersServiceHandler {
    public func createReward(request: Atrium_V1_CreateRewardRequest, context: ServerContext) async throws -> Atrium_V1_CreateRewardResponse {
        let hq = try Caller.require(.headquarters)
        guard request.hasReward else { throw DomainError.invalid("reward", "is required") }
        let reward = try Reward.from(request.reward)
        let idempotent = try Idempotent.request("CreateReward", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreateRewardResponse.self)
        return try await rewards.create(mallId: hq.mallId, reward, request: idempotent) { row in .with { $0.reward = Atrium_V1_Reward(row) } }
    }

    public func listRewards(request: Atrium_V1_ListRewardsRequest, context: ServerContext) async throws -> Atrium_V1_ListRewardsResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await rewards.rewards(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.rewards = rows.map(Atrium_V1_Reward.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.reward.id), pageSize: limit)
        }
    }
}

/// The points mall for HQ and the member app: the member's offers, redeeming and cancelling.
extension MemberServiceHandler {
    public func listMemberRewards(request: Atrium_V1_ListMemberRewardsRequest, context: ServerContext) async throws -> Atrium_V1_ListMemberRewardsResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let limit = try Validate.pageSize(request.pageSize)
        guard let offers = try await rewards.rewards(
            mallId: caller.mallId, forMember: request.memberID, nowMilliseconds: now(), afterId: try PageToken.decode(request.pageToken), limit: limit)
        else { throw DomainError.notFound("member \(request.memberID)") }
        return .with {
            $0.offers = offers.map { row, refusal in
                .with {
                    $0.reward = Atrium_V1_Reward(row)
                    $0.canRedeem = refusal == nil
                    if case .failedPrecondition(let reason, let message)? = refusal {
                        $0.reason = Atrium_V1_PreconditionReason(rawValue: Int(reason.rawValue)) ?? .unspecified
                        $0.message = message
                    }
                }
            }
            $0.nextPageToken = PageToken.next(ids: offers.map(\.0.reward.id), pageSize: limit)
        }
    }

    public func redeemReward(request: Atrium_V1_RedeemRewardRequest, context: ServerContext) async throws -> Atrium_V1_RedeemRewardResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        try Validate.positiveId(request.rewardID, field: "reward_id")
        let idempotent = try Idempotent.request("RedeemReward", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_RedeemRewardResponse.self)
        return try await rewards.redeem(mallId: caller.mallId, memberId: request.memberID, rewardId: request.rewardID, nowMilliseconds: now(), request: idempotent) { row in
            .with { $0.redemption = Atrium_V1_Redemption(row) }
        }
    }

    public func cancelRedemption(request: Atrium_V1_CancelRedemptionRequest, context: ServerContext) async throws -> Atrium_V1_CancelRedemptionResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.redemptionID, field: "redemption_id")
        let idempotent = try Idempotent.request("CancelRedemption", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_CancelRedemptionResponse.self)
        return try await rewards.cancel(mallId: caller.mallId, redemptionId: request.redemptionID, memberId: nil, nowMilliseconds: now(), request: idempotent) { row in
            .with { $0.redemption = Atrium_V1_Redemption(row) }
        }
    }

    public func listRedemptions(request: Atrium_V1_ListRedemptionsRequest, context: ServerContext) async throws -> Atrium_V1_ListRedemptionsResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await rewards.redemptions(mallId: caller.mallId, memberId: request.memberID, beforeId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.redemptions = rows.map(Atrium_V1_Redemption.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }
}

extension Reward {
    /// Validates a reward from a request; output-only fields are ignored.
    static func from(_ p: Atrium_V1_Reward) throws -> Reward {
        guard let kind = RewardKind(rawValue: Int16(clamping: p.kind.rawValue)) else {
            throw DomainError.invalid("reward.kind", "is required: physical gift, parking hours, service or coupon bundle")
        }
        let reward = Reward(
            id: 0, name: p.name, kind: kind, pointsPrice: p.pointsPrice, cashPriceMinor: p.cashPriceMinor, stock: p.stock,
            perMemberLimit: p.perMemberLimit == 0 ? 1 : p.perMemberLimit, perDayLimit: p.perDayLimit,
            availableFromMilliseconds: p.availableFromUnixMs == 0 ? nil : p.availableFromUnixMs,
            availableUntilMilliseconds: p.availableUntilUnixMs == 0 ? nil : p.availableUntilUnixMs, tierCodes: p.tierCodes, merchantId: p.merchantID,
            costMinor: p.costMinor, couponTemplateId: p.couponTemplateID == 0 ? nil : p.couponTemplateID, couponCount: p.couponCount)
        try reward.validate()
        return reward
    }
}

extension Atrium_V1_Reward {
    init(_ row: RewardRow) {
        self.init()
        let r = row.reward
        id = r.id
        name = r.name
        kind = Atrium_V1_RewardKind(rawValue: Int(r.kind.rawValue)) ?? .unspecified
        pointsPrice = r.pointsPrice
        cashPriceMinor = r.cashPriceMinor
        stock = r.stock
        perMemberLimit = r.perMemberLimit
        perDayLimit = r.perDayLimit
        availableFromUnixMs = r.availableFromMilliseconds ?? 0
        availableUntilUnixMs = r.availableUntilMilliseconds ?? 0
        tierCodes = r.tierCodes
        merchantID = r.merchantId
        costMinor = r.costMinor
        redeemedCount = row.redeemedCount
        createdAtUnixMs = row.createdAtMilliseconds
        couponTemplateID = r.couponTemplateId ?? 0
        couponCount = r.couponCount
    }
}

extension Atrium_V1_Redemption {
    init(_ row: RedemptionRow) {
        self.init()
        id = row.id
        rewardID = row.rewardId
        memberID = row.memberId
        points = row.points
        cashMinor = row.cashMinor
        pickupCode = row.pickupCode
        status = Atrium_V1_RedemptionStatus(rawValue: Int(row.status.rawValue)) ?? .unspecified
        createdAtUnixMs = row.createdAtMilliseconds
        endedAtUnixMs = row.endedAtMilliseconds ?? 0
        coupons = row.coupons.map { Atrium_V1_Coupon($0, atMilliseconds: row.createdAtMilliseconds) }
    }
}
