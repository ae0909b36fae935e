import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// Members: registration and lookups (HQ, merchants, the member app), profile care (HQ),
/// balances, and point holds (tills and the member app).
public struct MemberServiceHandler: Atrium_V1_MemberService.SimpleServiceProtocol {
    let members: MemberStore
    let ledger: LedgerStore
    let holds: HoldStore
    let coupons: CouponStore
    let rewards: RewardStore
    let now: @Sendable () -> Int64

    public init(
        members: MemberStore, ledger: LedgerStore, holds: HoldStore, coupons: CouponStore, rewards: RewardStore, now: @escaping @Sendable () -> Int64
    ) {
        self.members = members
        self.ledger = ledger
        self.holds = holds
        self.coupons = coupons
        self.rewards = rewards
        self.now = now
    }

    public func listMemberCoupons(request: Atrium_V1_ListMemberCouponsRequest, context: ServerContext) async throws -> Atrium_V1_ListMemberCouponsResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let status: CouponStatus?
        switch request.status {
        case .unspecified: status = nil
        case .UNRECOGNIZED: throw DomainError.invalid("status", "is not a known coupon status")
        default: status = CouponStatus(rawValue: Int16(request.status.rawValue))
        }
        let limit = try Validate.pageSize(request.pageSize)
        let at = now()
        let rows = try await coupons.coupons(
            mallId: caller.mallId, memberId: request.memberID, status: status, afterId: try PageToken.decode(request.pageToken), limit: limit, nowMilliseconds: at)
        return .with {
            $0.coupons = rows.map { Atrium_V1_Coupon($0, atMilliseconds: at) }
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func registerMember(request: Atrium_V1_RegisterMemberRequest, context: ServerContext) async throws -> Atrium_V1_RegisterMemberResponse {
        let caller = try Caller.require(.headquarters, .merchant, .memberApp)
        let phone = try PhoneNumber.normalize(request.phone)
        try Validate.text(request.name, field: "name", max: 50)
        let birthday = try birthday(request.birthday)
        if !request.referralCode.isEmpty { try Validate.code(request.referralCode, field: "referral_code", max: 20) }
        let idempotent = try Idempotent.request("RegisterMember", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_RegisterMemberResponse.self)
        return try await members.register(
            mallId: caller.mallId, phone: phone, name: request.name, birthday: birthday, referralCode: request.referralCode,
            registeredByMerchantId: caller.merchantId, request: idempotent
        ) { row in .with { $0.member = Atrium_V1_Member(row, for: caller) } }
    }

    public func importMembers(request: Atrium_V1_ImportMembersRequest, context: ServerContext) async throws -> Atrium_V1_ImportMembersResponse {
        let caller = try Caller.require(.headquarters)
        guard (1...Limits.importMembersMax).contains(request.members.count) else {
            throw DomainError.invalid("members", "1 to \(Limits.importMembersMax) members per call")
        }
        var seen: [String: Int] = [:]
        var members: [ImportedMember] = []
        members.reserveCapacity(request.members.count)
        for (i, member) in request.members.enumerated() {
            let phone = try PhoneNumber.normalize(member.phone, field: "members[\(i)].phone")
            if let first = seen.updateValue(i, forKey: phone) { throw DomainError.invalid("members[\(i)].phone", "repeats members[\(first)].phone") }
            try Validate.text(member.name, field: "members[\(i)].name", max: 50)
            if !member.tierCode.isEmpty { try Validate.code(member.tierCode, field: "members[\(i)].tier_code", max: 20, lowercaseOnly: true) }
            let birthday = try birthday(member.birthday, field: "members[\(i)].birthday")
            members.append(ImportedMember(phone: phone, name: member.name, birthday: birthday, tierCode: member.tierCode.isEmpty ? nil : member.tierCode))
        }
        let idempotent = try Idempotent.request("ImportMembers", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_ImportMembersResponse.self)
        return try await self.members.importMembers(mallId: caller.mallId, members, request: idempotent) { rows in
            .with { $0.members = rows.map { Atrium_V1_Member($0, for: caller) } }
        }
    }

    public func getMember(request: Atrium_V1_GetMemberRequest, context: ServerContext) async throws -> Atrium_V1_GetMemberResponse {
        let caller = try Caller.require(.headquarters, .merchant, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        guard let row = try await members.member(mallId: caller.mallId, id: request.memberID, visibleTo: caller.merchantId) else {
            throw DomainError.notFound("member \(request.memberID)")
        }
        return .with { $0.member = Atrium_V1_Member(row, for: caller) }
    }

    public func lookupMember(request: Atrium_V1_LookupMemberRequest, context: ServerContext) async throws -> Atrium_V1_LookupMemberResponse {
        let caller = try Caller.require(.headquarters, .merchant, .memberApp)
        let key: MemberStore.LookupKey
        switch request.key {
        case .phone(let phone): key = .phone(try PhoneNumber.normalize(phone))
        case .memberCode(let code):
            try MemberCode.validate(code, field: "member_code")
            key = .memberCode(code)
        case .qrToken(let token):
            try Validate.code(token, field: "qr_token", max: 64)
            key = .qrToken(token)
        case nil: throw DomainError.invalid("key", "is required: phone, member_code or qr_token")
        }
        guard let row = try await members.lookup(mallId: caller.mallId, key: key) else { throw DomainError.notFound("member") }
        return .with { $0.member = Atrium_V1_Member(row, for: caller) }
    }

    public func issueQrToken(request: Atrium_V1_IssueQrTokenRequest, context: ServerContext) async throws -> Atrium_V1_IssueQrTokenResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let (token, expires) = try await members.issueQrToken(mallId: caller.mallId, memberId: request.memberID, lifetimeMilliseconds: Limits.qrTokenLifetimeMilliseconds)
        return .with {
            $0.qrToken = token
            $0.expiresAtUnixMs = expires
        }
    }

    public func updateMemberProfile(request: Atrium_V1_UpdateMemberProfileRequest, context: ServerContext) async throws -> Atrium_V1_UpdateMemberProfileResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        var changes = MemberProfileChanges()
        if request.hasName {
            try Validate.text(request.name, field: "name", max: 50)
            changes.name = request.name
        }
        if request.hasBirthday { changes.birthday = .some(try birthday(request.birthday)) }
        if request.hasPhone { changes.phone = try PhoneNumber.normalize(request.phone) }
        let idempotent = try Idempotent.request("UpdateMemberProfile", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_UpdateMemberProfileResponse.self)
        return try await members.updateProfile(mallId: caller.mallId, memberId: request.memberID, changes: changes, request: idempotent) { row in
            .with { $0.member = Atrium_V1_Member(row, for: caller) }
        }
    }

    public func setMemberTier(request: Atrium_V1_SetMemberTierRequest, context: ServerContext) async throws -> Atrium_V1_SetMemberTierResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.memberID, field: "member_id")
        try Validate.code(request.tierCode, field: "tier_code", max: 20, lowercaseOnly: true)
        let idempotent = try Idempotent.request("SetMemberTier", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_SetMemberTierResponse.self)
        return try await members.setTier(mallId: hq.mallId, memberId: request.memberID, tierCode: request.tierCode, request: idempotent) { row in
            .with { $0.member = Atrium_V1_Member(row, for: hq) }
        }
    }

    public func freezeMember(request: Atrium_V1_FreezeMemberRequest, context: ServerContext) async throws -> Atrium_V1_FreezeMemberResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.memberID, field: "member_id")
        try Validate.text(request.reason, field: "reason", min: 1, max: Limits.reasonLengthMax)
        let idempotent = try Idempotent.request("FreezeMember", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_FreezeMemberResponse.self)
        return try await members.setFrozen(mallId: hq.mallId, memberId: request.memberID, frozen: true, reason: request.reason, request: idempotent) { row in
            .with { $0.member = Atrium_V1_Member(row, for: hq) }
        }
    }

    public func unfreezeMember(request: Atrium_V1_UnfreezeMemberRequest, context: ServerContext) async throws -> Atrium_V1_UnfreezeMemberResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.memberID, field: "member_id")
        let idempotent = try Idempotent.request("UnfreezeMember", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_UnfreezeMemberResponse.self)
        return try await members.setFrozen(mallId: hq.mallId, memberId: request.memberID, frozen: false, reason: "", request: idempotent) { row in
            .with { $0.member = Atrium_V1_Member(row, for: hq) }
        }
    }

    public func getBalance(request: Atrium_V1_GetBalanceRequest, context: ServerContext) async throws -> Atrium_V1_GetBalanceResponse {
        let caller = try Caller.require(.headquarters, .merchant, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let balance = try await ledger.balance(mallId: caller.mallId, memberId: request.memberID, nowMilliseconds: now(), visibleTo: caller.merchantId)
        return .with {
            $0.heldPoints = balance.heldPoints
            $0.availablePoints = balance.availablePoints
            $0.pendingPoints = balance.pendingPoints
            $0.expiring30DaysPoints = balance.expiringWithin30DaysPoints
            $0.debtPoints = balance.debtPoints
            $0.lifetimeEarnedPoints = balance.lifetimeEarnedPoints
        }
    }

    public func listTransactions(request: Atrium_V1_ListTransactionsRequest, context: ServerContext) async throws -> Atrium_V1_ListTransactionsResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await ledger.journals(mallId: caller.mallId, memberId: request.memberID, beforeId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.transactions = rows.map(Atrium_V1_Transaction.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    public func listLots(request: Atrium_V1_ListLotsRequest, context: ServerContext) async throws -> Atrium_V1_ListLotsResponse {
        let caller = try Caller.require(.headquarters, .memberApp)
        try Validate.positiveId(request.memberID, field: "member_id")
        let limit = try Validate.pageSize(request.pageSize)
        let lots = try await ledger.lots(mallId: caller.mallId, memberId: request.memberID, afterId: try PageToken.decode(request.pageToken), limit: limit, includeDepleted: request.includeDepleted)
        return .with {
            $0.lots = lots.map(Atrium_V1_Lot.init)
            $0.nextPageToken = PageToken.next(ids: lots.map(\.id), pageSize: limit)
        }
    }

    public func holdPoints(request: Atrium_V1_HoldPointsRequest, context: ServerContext) async throws -> Atrium_V1_HoldPointsResponse {
        let caller = try Caller.require(.merchant, .memberApp)
        let key: HoldStore.MemberKey
        switch request.member {
        case .qrToken(let token): key = try Self.holdKey(qrToken: token, memberId: nil, caller: caller)
        case .memberID(let id): key = try Self.holdKey(qrToken: nil, memberId: id, caller: caller)
        case nil: key = try Self.holdKey(qrToken: nil, memberId: nil, caller: caller)
        }
        try Validate.range(request.points, field: "points", 1...Limits.orderPointsMax)
        let seconds = request.holdSeconds == 0 ? Limits.holdSecondsDefault : request.holdSeconds
        try Validate.range(seconds, field: "hold_seconds", Limits.holdSecondsRange)
        let idempotent = try Idempotent.request("HoldPoints", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_HoldPointsResponse.self)
        return try await holds.hold(
            mallId: caller.mallId, member: key, merchantId: caller.merchantId, points: request.points, lifetimeMilliseconds: Int64(seconds) * 1_000,
            nowMilliseconds: now(), request: idempotent
        ) { hold in .with { $0.hold = Atrium_V1_PointHold(hold) } }
    }

    public func releaseHold(request: Atrium_V1_ReleaseHoldRequest, context: ServerContext) async throws -> Atrium_V1_ReleaseHoldResponse {
        let caller = try Caller.require(.merchant, .memberApp)
        try Validate.positiveId(request.holdID, field: "hold_id")
        let idempotent = try Idempotent.request("ReleaseHold", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_ReleaseHoldResponse.self)
        return try await holds.release(mallId: caller.mallId, holdId: request.holdID, merchantId: caller.merchantId, nowMilliseconds: now(), request: idempotent) { hold in
            .with { $0.hold = Atrium_V1_PointHold(hold) }
        }
    }

    /// Whom a hold is for: a till names the member present by QR token; the member app may name them by id.
    static func holdKey(qrToken: String?, memberId: Int64?, caller: Principal) throws -> HoldStore.MemberKey {
        if let qrToken {
            try Validate.code(qrToken, field: "qr_token", max: 64)
            return .qrToken(qrToken)
        }
        guard let memberId else { throw DomainError.invalid("member", "is required: qr_token (or member_id from the member app)") }
        guard caller.role == .memberApp else { throw DomainError.invalid("member_id", "a till holds only for the member present: send the member's qr_token") }
        try Validate.positiveId(memberId, field: "member_id")
        return .id(memberId)
    }

    public func holdCoupon(request: Atrium_V1_HoldCouponRequest, context: ServerContext) async throws -> Atrium_V1_HoldCouponResponse {
        let caller = try Caller.require(.merchant, .memberApp)
        let key: HoldStore.MemberKey
        switch request.member {
        case .qrToken(let token): key = try Self.holdKey(qrToken: token, memberId: nil, caller: caller)
        case .memberID(let id): key = try Self.holdKey(qrToken: nil, memberId: id, caller: caller)
        case nil: key = try Self.holdKey(qrToken: nil, memberId: nil, caller: caller)
        }
        let code = try Self.couponCode(request.couponCode, field: "coupon_code")
        let seconds = request.holdSeconds == 0 ? Limits.holdSecondsDefault : request.holdSeconds
        try Validate.range(seconds, field: "hold_seconds", Limits.holdSecondsRange)
        let idempotent = try Idempotent.request("HoldCoupon", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_HoldCouponResponse.self)
        let at = now()
        return try await coupons.holdCoupon(
            mallId: caller.mallId, member: key, merchantId: caller.merchantId, code: code, lifetimeMilliseconds: Int64(seconds) * 1_000, nowMilliseconds: at,
            request: idempotent
        ) { hold in .with { $0.hold = Atrium_V1_CouponHold(hold, atMilliseconds: at) } }
    }

    public func releaseCouponHold(request: Atrium_V1_ReleaseCouponHoldRequest, context: ServerContext) async throws -> Atrium_V1_ReleaseCouponHoldResponse {
        let caller = try Caller.require(.merchant, .memberApp)
        let code = try Self.couponCode(request.couponCode, field: "coupon_code")
        let idempotent = try Idempotent.request("ReleaseCouponHold", caller: caller, requestId: request.requestID, message: request, as: Atrium_V1_ReleaseCouponHoldResponse.self)
        let at = now()
        return try await coupons.releaseCoupon(mallId: caller.mallId, merchantId: caller.merchantId, code: code, nowMilliseconds: at, request: idempotent) { hold in
            .with { $0.hold = Atrium_V1_CouponHold(hold, atMilliseconds: at) }
        }
    }

    static func couponCode(_ text: String, field: String) throws -> String {
        let code = text.uppercased()
        guard CouponCode.isWellFormed(code) else { throw DomainError.invalid(field, "must be \(CouponCode.length) characters of Crockford base 32") }
        return code
    }

    /// "" or "YYYY-MM-DD" not after today (UTC, a day of slack for every time zone).
    func birthday(_ text: String, field: String = "birthday") throws -> LocalDate? {
        guard !text.isEmpty else { return nil }
        let date = try LocalDate.parse(text, field: field)
        guard date.daysSinceEpoch <= now() / 86_400_000 + 1 else { throw DomainError.invalid(field, "is in the future") }
        return date
    }
}
