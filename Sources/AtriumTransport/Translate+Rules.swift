import AtriumDomain
import AtriumProto
import AtriumStore

extension EarningRule {
    static func from(_ proto: Atrium_V1_EarningRule, field: String) throws(DomainError) -> EarningRule {
        let rule = EarningRule(
            pointsPerStep: proto.pointsPerStep, stepAmountMinor: proto.stepAmountMinor, minimumOrderMinor: proto.minimumOrderMinor,
            perOrderCapPoints: proto.perOrderCapPoints, perMemberDailyCapPoints: proto.perMemberDailyCapPoints)
        try rule.validate(field: field)
        return rule
    }

    var proto: Atrium_V1_EarningRule {
        .with {
            $0.pointsPerStep = pointsPerStep
            $0.stepAmountMinor = stepAmountMinor
            $0.minimumOrderMinor = minimumOrderMinor
            $0.perOrderCapPoints = perOrderCapPoints
            $0.perMemberDailyCapPoints = perMemberDailyCapPoints
        }
    }
}

extension Tier {
    var proto: Atrium_V1_Tier {
        .with {
            $0.code = code
            $0.name = name
            $0.rank = rank
            $0.multiplierBasisPoints = multiplierBasisPoints
        }
    }
}

extension Campaign {
    /// Validates a campaign from a request; output-only fields are ignored.
    static func from(_ p: Atrium_V1_Campaign) throws -> Campaign {
        var mask: UInt8 = 0
        for (i, day) in p.weekdays.enumerated() {
            try Validate.range(day, field: "campaign.weekdays[\(i)]", 1...7)
            mask |= 1 << UInt8(day)
        }
        guard p.dates.count <= Limits.campaignDatesMax else { throw DomainError.invalid("campaign.dates", "at most \(Limits.campaignDatesMax) dates") }
        var dates: [Int64] = []
        for (i, text) in p.dates.enumerated() { dates.append(try LocalDate.parse(text, field: "campaign.dates[\(i)]").daysSinceEpoch) }
        guard p.categories.count <= MerchantCategory.allCases.count else { throw DomainError.invalid("campaign.categories", "lists a category twice") }
        var categories: [MerchantCategory] = []
        for (i, category) in p.categories.enumerated() { categories.append(try MerchantCategory.from(category, field: "campaign.categories[\(i)]")) }
        for (i, id) in p.merchantIds.enumerated() { try Validate.positiveId(id, field: "campaign.merchant_ids[\(i)]") }
        let stacking: CampaignStacking
        switch p.stacking {
        case .unspecified, .stackable: stacking = .stackable
        case .exclusive: stacking = .exclusive
        case .UNRECOGNIZED: throw DomainError.invalid("campaign.stacking", "is not a stacking policy")
        }
        guard p.sponsorMerchantID >= 0 else { throw DomainError.invalid("campaign.sponsor_merchant_id", "must not be negative") }
        let campaign = Campaign(
            id: 0, name: p.name, startsAtMilliseconds: p.startsAtUnixMs, endsAtMilliseconds: p.endsAtUnixMs, weekdayMask: mask,
            dates: dates, merchantIds: p.merchantIds, categories: categories, tierCodes: p.tierCodes,
            multiplierBasisPoints: p.multiplierBasisPoints, bonusPoints: p.bonusPoints, minimumEligibleMinor: p.minimumEligibleMinor,
            budgetPoints: p.budgetPoints, stacking: stacking, sponsorMerchantId: p.sponsorMerchantID == 0 ? nil : p.sponsorMerchantID)
        try campaign.validate()
        return campaign
    }

    var proto: Atrium_V1_Campaign {
        .with {
            $0.id = id
            $0.name = name
            $0.startsAtUnixMs = startsAtMilliseconds
            $0.endsAtUnixMs = endsAtMilliseconds
            $0.weekdays = (1...7).filter { weekdayMask & (1 << UInt8($0)) != 0 }.map(Int32.init)
            $0.dates = dates.map { LocalDate(daysSinceEpoch: $0).description }
            $0.merchantIds = merchantIds
            $0.categories = categories.map(\.proto)
            $0.tierCodes = tierCodes
            $0.multiplierBasisPoints = multiplierBasisPoints
            $0.bonusPoints = bonusPoints
            $0.minimumEligibleMinor = minimumEligibleMinor
            $0.budgetPoints = budgetPoints
            $0.spentPoints = spentPoints
            $0.stacking = stacking == .exclusive ? .exclusive : .stackable
            $0.sponsorMerchantID = sponsorMerchantId ?? 0
            $0.ended = ended
        }
    }
}
