import ArgumentParser
import AtriumProto
import GRPCCore

struct Holds: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Point holds (a till with the member's QR token, or the member app).", subcommands: [Create.self, Release.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The member's QR token (a till's only way).") var qrToken: String?
        @Option(help: "The member's id (the member app only).") var memberId: Int64?
        @Option var points: Int64
        @Option(help: "1-900; default 300.") var holdSeconds: Int32 = 0
        @Option var requestId = newRequestId()
        func run() async throws {
            let request = Atrium_V1_HoldPointsRequest.with {
                $0.requestID = requestId; $0.points = points; $0.holdSeconds = holdSeconds
                if let qrToken { $0.qrToken = qrToken } else if let memberId { $0.memberID = memberId }
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).holdPoints(request, metadata: metadata)
            })
        }
    }

    struct Release: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var holdId: Int64
        @Option var requestId = newRequestId()
        func run() async throws {
            let request = Atrium_V1_ReleaseHoldRequest.with { $0.requestID = requestId; $0.holdID = holdId }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_MemberService.Client(wrapping: client).releaseHold(request, metadata: metadata)
            })
        }
    }
}

struct CouponTemplates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coupon-template", abstract: "Coupon templates (HQ).", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var name: String
        @Option(help: "Money off, in minor units.") var amountOffMinor: Int64?
        @Option(help: "Percent off, in basis points (with --cap-minor).") var percentOffBasisPoints: Int32?
        @Option var capMinor: Int64 = 0
        @Option(help: "A gift instead of money off.") var freeGift: String?
        @Option var minimumSpendMinor: Int64 = 0
        @Option var validDaysAfterIssue: Int32 = 0
        @Option var validFromUnixMs: Int64 = 0
        @Option var validUntilUnixMs: Int64 = 0
        @Option(parsing: .upToNextOption) var merchantIds: [Int64] = []
        @Option var perMemberLimit: Int32 = 1
        @Option var totalQuantity: Int64 = 0
        @Option var mallShareBasisPoints: Int32 = 10_000
        @Option var requestId = newRequestId()
        func run() async throws {
            let template = Atrium_V1_CouponTemplate.with {
                $0.name = name
                if let amountOffMinor { $0.amountOffMinor = amountOffMinor }
                if let percentOffBasisPoints { $0.percentOff = .with { $0.basisPoints = percentOffBasisPoints; $0.capMinor = capMinor } }
                if let freeGift { $0.freeGift = freeGift }
                $0.minimumSpendMinor = minimumSpendMinor
                $0.validDaysAfterIssue = validDaysAfterIssue
                $0.validFromUnixMs = validFromUnixMs
                $0.validUntilUnixMs = validUntilUnixMs
                $0.merchantIds = merchantIds
                $0.perMemberLimit = perMemberLimit
                $0.totalQuantity = totalQuantity
                $0.mallShareBasisPoints = mallShareBasisPoints
            }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).createCouponTemplate(.with { $0.requestID = requestId; $0.template = template }, metadata: metadata)
            })
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).listCouponTemplates(.with { $0.pageSize = 500 }, metadata: metadata)
            })
        }
    }
}
