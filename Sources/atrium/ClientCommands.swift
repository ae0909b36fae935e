import ArgumentParser
import AtriumProto
import GRPCCore

struct Malls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mall", abstract: "Malls (platform operator).", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Short unique code, a-z 0-9 -.") var code: String
        @Option var name: String
        @Option var currency = "CNY"
        @Option var timeZone = "Asia/Shanghai"
        @Option(help: "Request id for safe retries (default: new).") var requestId = newRequestId()

        func run() async throws {
            let request = Atrium_V1_CreateMallRequest.with {
                $0.requestID = requestId
                $0.code = code
                $0.settings = .with { $0.name = name; $0.currencyCode = currency; $0.timeZone = timeZone }
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_PlatformService.Client(wrapping: client).createMall(request, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var pageSize: Int32 = 50
        @Option var pageToken = ""

        func run() async throws {
            let request = Atrium_V1_ListMallsRequest.with { $0.pageSize = pageSize; $0.pageToken = pageToken }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_PlatformService.Client(wrapping: client).listMalls(request, metadata: metadata)
            })
        }
    }
}

struct Merchants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merchant", abstract: "Merchants (HQ).", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var code: String
        @Option var name: String
        @Option(help: "supermarket, food-and-beverage, fashion, luxury, cinema, services, electronics, entertainment, other") var category: String
        @Option var pendingDays: Int32 = 0
        @Option var requestId = newRequestId()

        func run() async throws {
            let categories: [String: Atrium_V1_MerchantCategory] = [
                "supermarket": .supermarket, "food-and-beverage": .foodAndBeverage, "fashion": .fashion, "luxury": .luxury,
                "cinema": .cinema, "services": .services, "electronics": .electronics, "entertainment": .entertainment, "other": .other,
            ]
            guard let parsed = categories[category] else { throw ValidationError("unknown category \(category)") }
            let request = Atrium_V1_CreateMerchantRequest.with {
                $0.requestID = requestId; $0.code = code; $0.name = name; $0.category = parsed; $0.pendingDays = pendingDays
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).createMerchant(request, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var pageSize: Int32 = 50
        @Option var pageToken = ""

        func run() async throws {
            let request = Atrium_V1_ListMerchantsRequest.with { $0.pageSize = pageSize; $0.pageToken = pageToken }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).listMerchants(request, metadata: metadata)
            })
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "API keys (HQ).", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "headquarters, merchant, partner or member-app") var role: String
        @Option var merchantId: Int64 = 0
        @Option var partnerId: Int64 = 0
        @Option var label: String
        @Option var requestId = newRequestId()

        func run() async throws {
            let roles: [String: Atrium_V1_Role] = ["headquarters": .headquarters, "merchant": .merchant, "partner": .partner, "member-app": .memberApp]
            guard let parsed = roles[role] else { throw ValidationError("role must be headquarters, merchant, partner or member-app") }
            let request = Atrium_V1_CreateApiKeyRequest.with {
                $0.requestID = requestId; $0.role = parsed; $0.merchantID = merchantId; $0.partnerID = partnerId; $0.label = label
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).createApiKey(request, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).listApiKeys(Atrium_V1_ListApiKeysRequest(), metadata: metadata)
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var keyId: Int64
        @Option var requestId = newRequestId()
        func run() async throws {
            let request = Atrium_V1_RevokeApiKeyRequest.with { $0.requestID = requestId; $0.keyID = keyId }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).revokeApiKey(request, metadata: metadata)
            })
        }
    }
}

struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "Members (HQ, merchants, the member app).", subcommands: [Register.self, Balance.self, QrToken.self])

    struct Register: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var phone: String
        @Option var name = ""
        @Option var requestId = newRequestId()
        func run() async throws {
            let request = Atrium_V1_RegisterMemberRequest.with { $0.requestID = requestId; $0.phone = phone; $0.name = name }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).registerMember(request, metadata: metadata)
            })
        }
    }

    /// What the member app shows at a till: a token that proves the member present for five minutes.
    struct QrToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "qr-token")
        @OptionGroup var connection: ConnectionOptions
        @Option var memberId: Int64
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).issueQrToken(.with { $0.memberID = memberId }, metadata: metadata)
            })
        }
    }

    struct Balance: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var memberId: Int64
        func run() async throws {
            let request = Atrium_V1_GetBalanceRequest.with { $0.memberID = memberId }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).getBalance(request, metadata: metadata)
            })
        }
    }
}

struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "order", abstract: "Orders (merchants).", subcommands: [Submit.self, Refund.self])

    struct Submit: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var number: String
        @Option(help: "Enough to earn; paying with points needs --qr-token or --hold-id.") var memberCode: String?
        @Option(help: "The member's QR token, from the member app: the member is present.") var qrToken: String?
        @Option var amountMinor: Int64
        @Option(help: "Points that pay part of the bill (whole steps of the mall's redeem points).") var spendPoints: Int64 = 0
        @Option(help: "A hold to capture (atrium hold create); with --spend-points 0, all of it.") var holdId: Int64 = 0
        @Option(help: "Part of the bill paid with coupons issued elsewhere (not with --coupon-code).") var couponPaidMinor: Int64 = 0
        @Option(parsing: .upToNextOption, help: "The member's coupons, written off with the order.") var couponCode: [String] = []
        func run() async throws {
            guard (memberCode == nil) != (qrToken == nil) else { throw ValidationError("give exactly one of --member-code and --qr-token") }
            let request = Atrium_V1_SubmitOrderRequest.with {
                $0.order = .with {
                    $0.orderNumber = number
                    $0.member = .with { if let qrToken { $0.qrToken = qrToken } else if let memberCode { $0.memberCode = memberCode } }
                    $0.amountMinor = amountMinor
                    $0.pointsToSpend = spendPoints
                    $0.holdID = holdId
                    $0.couponPaidMinor = couponPaidMinor
                    $0.couponCodes = couponCode
                }
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MerchantService.Client(wrapping: client).submitOrder(request, metadata: metadata)
            })
        }
    }

    struct Refund: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var number: String
        @Option var refundId: String
        @Option(help: "Omit for a full refund.") var amountMinor: Int64?
        func run() async throws {
            let request = Atrium_V1_RefundOrderRequest.with {
                $0.refundID = refundId
                $0.orderNumber = number
                if let amountMinor { $0.amountMinor = amountMinor } else { $0.full = true }
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MerchantService.Client(wrapping: client).refundOrder(request, metadata: metadata)
            })
        }
    }
}

struct Health: AsyncParsableCommand {
    @OptionGroup var connection: ConnectionOptions
    func run() async throws {
        try printJSON(try await connection.withClient { client, _ in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(Grpc_Health_V1_HealthCheckRequest())
        })
    }
}
