import ArgumentParser
import AtriumProto
import GRPCCore

struct Coupons: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coupon", abstract: "Coupons: HQ issues and lists them; a till validates one.", subcommands: [Issue.self, List.self, Validate.self])

    struct Issue: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var templateId: Int64
        @Option(parsing: .upToNextOption, help: "Members to issue one coupon each to (or --tier-code).") var memberIds: [Int64] = []
        @Option(help: "A tier: the next 1,000 of its members after --after-member-id.") var tierCode = ""
        @Option var afterMemberId: Int64 = 0
        @Option var requestId = newRequestId()
        func run() async throws {
            let request = Atrium_V1_IssueCouponsRequest.with {
                $0.requestID = requestId; $0.templateID = templateId; $0.memberIds = memberIds; $0.tierCode = tierCode; $0.afterMemberID = afterMemberId
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).issueCoupons(request, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var memberId: Int64
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).listMemberCoupons(.with { $0.memberID = memberId; $0.pageSize = 500 }, metadata: metadata)
            })
        }
    }

    struct Validate: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var code: String
        @Option(help: "The bill the coupon would pay part of.") var basketMinor: Int64
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MerchantService.Client(wrapping: client).validateCoupon(.with { $0.code = code; $0.basketMinor = basketMinor }, metadata: metadata)
            })
        }
    }
}

struct Rewards: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward", abstract: "The points mall: HQ's rewards; redeeming (HQ, the member app); handing over (the merchant).",
        subcommands: [Create.self, List.self, Redeem.self, Cancel.self, Fulfil.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var name: String
        @Option(help: "physical-gift, parking-hours, service or coupon-bundle") var kind: String
        @Option var pointsPrice: Int64
        @Option var cashPriceMinor: Int64 = 0
        @Option var stock: Int64
        @Option var perMemberLimit: Int32 = 1
        @Option var perDayLimit: Int32 = 0
        @Option(help: "The merchant that hands it over.") var merchantId: Int64
        @Option(help: "What the mall pays that merchant for each.") var costMinor: Int64 = 0
        @Option(help: "A coupon bundle's template.") var couponTemplateId: Int64 = 0
        @Option var couponCount: Int32 = 0
        @Option var requestId = newRequestId()
        func run() async throws {
            let kinds: [String: Atrium_V1_RewardKind] = ["physical-gift": .physicalGift, "parking-hours": .parkingHours, "service": .service, "coupon-bundle": .couponBundle]
            guard let rewardKind = kinds[kind] else { throw ValidationError("--kind: one of \(kinds.keys.sorted().joined(separator: ", "))") }
            let reward = Atrium_V1_Reward.with {
                $0.name = name; $0.kind = rewardKind; $0.pointsPrice = pointsPrice; $0.cashPriceMinor = cashPriceMinor; $0.stock = stock
                $0.perMemberLimit = perMemberLimit; $0.perDayLimit = perDayLimit; $0.merchantID = merchantId; $0.costMinor = costMinor
                $0.couponTemplateID = couponTemplateId; $0.couponCount = couponCount
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).createReward(.with { $0.requestID = requestId; $0.reward = reward }, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "A member's view: whether and why not (HQ or the member app); without it, HQ's list.") var memberId: Int64?
        func run() async throws {
            if let memberId {
                try printJSON(try await connection.withClient { client, metadata in
                    try await Atrium_V1_MemberService.Client(wrapping: client).listMemberRewards(.with { $0.memberID = memberId; $0.pageSize = 500 }, metadata: metadata)
                })
            } else {
                try printJSON(try await connection.withClient { client, metadata in
                    try await Atrium_V1_HeadquartersService.Client(wrapping: client).listRewards(.with { $0.pageSize = 500 }, metadata: metadata)
                })
            }
        }
    }

    struct Redeem: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var memberId: Int64
        @Option var rewardId: Int64
        @Option var requestId = newRequestId()
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).redeemReward(
                    .with { $0.requestID = requestId; $0.memberID = memberId; $0.rewardID = rewardId }, metadata: metadata)
            })
        }
    }

    struct Cancel: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var redemptionId: Int64
        @Option var requestId = newRequestId()
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).cancelRedemption(.with { $0.requestID = requestId; $0.redemptionID = redemptionId }, metadata: metadata)
            })
        }
    }

    struct Fulfil: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var pickupCode: String
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MerchantService.Client(wrapping: client).fulfilRedemption(.with { $0.pickupCode = pickupCode }, metadata: metadata)
            })
        }
    }
}
