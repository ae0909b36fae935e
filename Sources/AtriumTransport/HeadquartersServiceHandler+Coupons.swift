import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore

/// HQ's coupon templates.
extension HeadquartersServiceHandler {
    public func createCouponTemplate(request: Atrium_V1_CreateCouponTemplateRequest, context: ServerContext) async throws -> Atrium_V1_CreateCouponTemplateResponse {
        let hq = try Caller.require(.headquarters)
        guard request.hasTemplate else { throw DomainError.invalid("template", "is required") }
        let template = try CouponTemplate.from(request.template)
        let idempotent = try Idempotent.request("CreateCouponTemplate", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_CreateCouponTemplateResponse.self)
        return try await coupons.createTemplate(mallId: hq.mallId, template, request: idempotent) { row in .with { $0.template = Atrium_V1_CouponTemplate(row) } }
    }

    public func issueCoupons(request: Atrium_V1_IssueCouponsRequest, context: ServerContext) async throws -> Atrium_V1_IssueCouponsResponse {
        let hq = try Caller.require(.headquarters)
        try Validate.positiveId(request.templateID, field: "template_id")
        let recipients: CouponStore.Recipients
        if !request.tierCode.isEmpty {
            guard request.memberIds.isEmpty else { throw DomainError.invalid("tier_code", "is instead of member_ids, not with them") }
            try Validate.code(request.tierCode, field: "tier_code")
            try Validate.range(request.afterMemberID, field: "after_member_id", 0...Int64.max)
            recipients = .tier(request.tierCode, afterMemberId: request.afterMemberID)
        } else {
            guard (1...Limits.couponsIssuedPerCallMax).contains(request.memberIds.count) else {
                throw DomainError.invalid("member_ids", "1 to \(Limits.couponsIssuedPerCallMax) members, or a tier_code")
            }
            guard Set(request.memberIds).count == request.memberIds.count else { throw DomainError.invalid("member_ids", "lists a member twice") }
            for (i, id) in request.memberIds.enumerated() { try Validate.positiveId(id, field: "member_ids[\(i)]") }
            recipients = .members(request.memberIds)
        }
        let idempotent = try Idempotent.request("IssueCoupons", caller: hq, requestId: request.requestID, message: request, as: Atrium_V1_IssueCouponsResponse.self)
        let at = now()
        return try await coupons.issue(mallId: hq.mallId, templateId: request.templateID, to: recipients, nowMilliseconds: at, request: idempotent) { rows, next in
            .with {
                $0.coupons = rows.map { Atrium_V1_Coupon($0, atMilliseconds: at) }
                $0.nextAfterMemberID = next
            }
        }
    }

    public func listCouponTemplates(request: Atrium_V1_ListCouponTemplatesRequest, context: ServerContext) async throws -> Atrium_V1_ListCouponTemplatesResponse {
        let hq = try Caller.require(.headquarters)
        let limit = try Validate.pageSize(request.pageSize)
        let rows = try await coupons.listTemplates(mallId: hq.mallId, afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.templates = rows.map(Atrium_V1_CouponTemplate.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.template.id), pageSize: limit)
        }
    }
}

extension CouponTemplate {
    /// Validates a template from a request; output-only fields are ignored.
    static func from(_ p: Atrium_V1_CouponTemplate) throws -> CouponTemplate {
        let benefit: CouponBenefit
        switch p.benefit {
        case .amountOffMinor(let minor): benefit = .amountOff(minor: minor)
        case .percentOff(let off): benefit = .percentOff(basisPoints: off.basisPoints, capMinor: off.capMinor)
        case .freeGift(let description): benefit = .freeGift(description: description)
        case nil: throw DomainError.invalid("template.benefit", "is required: amount_off_minor, percent_off or free_gift")
        }
        let validity: CouponValidity
        if p.validDaysAfterIssue != 0 {
            guard p.validFromUnixMs == 0, p.validUntilUnixMs == 0 else {
                throw DomainError.invalid("template.valid_days_after_issue", "is instead of valid_from_unix_ms and valid_until_unix_ms, not with them")
            }
            validity = .daysAfterIssue(p.validDaysAfterIssue)
        } else {
            validity = .fixed(startsAtMilliseconds: p.validFromUnixMs, endsAtMilliseconds: p.validUntilUnixMs)
        }
        var categories: [MerchantCategory] = []
        for (i, category) in p.categories.enumerated() { categories.append(try MerchantCategory.from(category, field: "template.categories[\(i)]")) }
        let template = CouponTemplate(
            id: 0, name: p.name, benefit: benefit, minimumSpendMinor: p.minimumSpendMinor, validity: validity, merchantIds: p.merchantIds,
            categories: categories, perMemberLimit: p.perMemberLimit == 0 ? 1 : p.perMemberLimit, totalQuantity: p.totalQuantity,
            mallShareBasisPoints: p.mallShareBasisPoints)
        try template.validate()
        return template
    }
}

extension Atrium_V1_CouponTemplate {
    init(_ row: CouponTemplateRow) {
        self.init()
        let t = row.template
        id = t.id
        name = t.name
        switch t.benefit {
        case .amountOff(let minor): amountOffMinor = minor
        case .percentOff(let basisPoints, let capMinor): percentOff = .with { $0.basisPoints = basisPoints; $0.capMinor = capMinor }
        case .freeGift(let description): freeGift = description
        }
        minimumSpendMinor = t.minimumSpendMinor
        switch t.validity {
        case .fixed(let starts, let ends): (validFromUnixMs, validUntilUnixMs) = (starts, ends)
        case .daysAfterIssue(let days): validDaysAfterIssue = days
        }
        merchantIds = t.merchantIds
        categories = t.categories.map(\.proto)
        perMemberLimit = t.perMemberLimit
        totalQuantity = t.totalQuantity
        issuedCount = row.issuedCount
        mallShareBasisPoints = t.mallShareBasisPoints
        createdAtUnixMs = row.createdAtMilliseconds
    }
}

extension Atrium_V1_Coupon {
    init(_ row: CouponRow, atMilliseconds now: Int64) {
        self.init()
        id = row.id
        code = row.code
        templateID = row.templateId
        templateName = row.templateName
        memberID = row.memberId
        status = Atrium_V1_CouponStatus(rawValue: Int(row.status(atMilliseconds: now).rawValue)) ?? .unspecified
        validFromUnixMs = row.validFromMilliseconds
        validUntilUnixMs = row.validUntilMilliseconds
        issuedAtUnixMs = row.issuedAtMilliseconds
    }
}

extension Atrium_V1_CouponHold {
    init(_ row: CouponHoldRow, atMilliseconds now: Int64) {
        self.init()
        coupon = Atrium_V1_Coupon(row.coupon, atMilliseconds: now)
        heldUntilUnixMs = row.heldUntilMilliseconds ?? 0
        merchantID = row.merchantId ?? 0
    }
}

