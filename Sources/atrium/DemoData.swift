import AtriumProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// A demo mall built through the public API: merchants in several categories, earning rules, a
/// tier table, campaigns, a partner and members. Keys are new on every start and printed once.
enum DemoData {
    static let mallCode = "demo"
    static let demoPhones = ["13800000001", "13800000002", "13800000003"]

    static func seed(port: Int, platformKey: String) async throws -> String {
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
            let operatorMetadata: Metadata = ["authorization": "Bearer \(platformKey)"]
            let platform = Atrium_V1_PlatformService.Client(wrapping: client)
            let malls = try await platform.listMalls(.with { $0.pageSize = 500 }, metadata: operatorMetadata).malls
            let hqKey: String
            let mall: Atrium_V1_Mall
            var fresh = false
            if let existing = malls.first(where: { $0.code == mallCode }) {
                mall = existing
                hqKey = try await platform.issueHeadquartersKey(.with {
                    $0.requestID = UUID().uuidString; $0.mallID = existing.id; $0.label = "dev restart"
                }, metadata: operatorMetadata).key.secret
            } else {
                let created = try await platform.createMall(.with {
                    $0.requestID = UUID().uuidString
                    $0.code = mallCode
                    $0.settings = .with {
                        $0.name = "Atrium Demo Plaza"
                        $0.currencyCode = "CNY"
                        $0.timeZone = "Asia/Shanghai"
                        $0.redeemPoints = 100
                        $0.redeemValueMinor = 100
                        $0.expiryPolicy = .endOfNextYear
                        $0.refundShortfallPolicy = .stopAtZero
                        $0.issuePoints = 100
                        $0.issueValueMinor = 80
                        $0.breakageMallShareBasisPoints = 5_000
                        $0.pointsPaymentMaxShareBasisPoints = 5_000
                        $0.pointsPaymentMinimumPoints = 100
                    }
                }, metadata: operatorMetadata)
                mall = created.mall
                hqKey = created.headquartersKey.secret
                fresh = true
            }
            let hqMetadata: Metadata = ["authorization": "Bearer \(hqKey)"]
            let hq = Atrium_V1_HeadquartersService.Client(wrapping: client)
            if fresh { try await seedProgramme(hq: hq, members: Atrium_V1_MemberService.Client(wrapping: client), metadata: hqMetadata) }
            var lines = [
                "", "Atrium dev is running on 127.0.0.1:\(port) (mall \(mall.code), id \(mall.id)). Keys (shown once):",
                "  platform operator  \(platformKey)",
                "  headquarters       \(hqKey)",
            ]
            for merchant in try await hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: hqMetadata).merchants {
                let key = try await hq.createApiKey(.with {
                    $0.requestID = UUID().uuidString; $0.role = .merchant; $0.merchantID = merchant.id; $0.label = "dev POS"
                }, metadata: hqMetadata).key.secret
                lines.append("  merchant \(merchant.code.padding(toLength: 10, withPad: " ", startingAt: 0)) \(key)")
            }
            let appKey = try await hq.createApiKey(.with {
                $0.requestID = UUID().uuidString; $0.role = .memberApp; $0.label = "dev member app"
            }, metadata: hqMetadata).key.secret
            lines.append("  member app         \(appKey)")
            let memberClient = Atrium_V1_MemberService.Client(wrapping: client)
            for phone in demoPhones {
                if let member = try? await memberClient.lookupMember(.with { $0.phone = phone }, metadata: hqMetadata).member {
                    lines.append("  member \(member.memberCode) (\(member.tierCode), id \(member.id))")
                }
            }
            lines.append("Try: ATRIUM_KEY=<merchant key> atrium order submit --number A1 --member-code <code> --amount-minor 12800")
            lines.append("pay with points and a coupon: atrium coupon list --member-id <id> (HQ key), then with the member app's QR token")
            lines.append("  ATRIUM_KEY=<merchant key> atrium order submit --number A2 --qr-token <token> --amount-minor 25000 --spend-points 100 --coupon-code <code>")
            lines.append("then: ATRIUM_KEY=<headquarters key> atrium settlement close, and atrium settlement export --period-id <id>")
            return lines.joined(separator: "\n")
        }
    }

    static func seedProgramme(hq: Atrium_V1_HeadquartersService.Client<HTTP2ClientTransport.Posix>, members: Atrium_V1_MemberService.Client<HTTP2ClientTransport.Posix>, metadata: Metadata) async throws {
        let rules: [(Atrium_V1_MerchantCategory, Int64, Int64)] = [
            (.supermarket, 1, 2_000), (.foodAndBeverage, 1, 1_000), (.fashion, 1, 1_000), (.luxury, 3, 1_000), (.cinema, 1, 1_000), (.services, 1, 1_000),
        ]
        for (category, points, step) in rules {
            _ = try await hq.setCategoryRule(.with {
                $0.requestID = UUID().uuidString; $0.category = category
                $0.rule = .with { $0.pointsPerStep = points; $0.stepAmountMinor = step; $0.perMemberDailyCapPoints = 5_000 }
            }, metadata: metadata)
        }
        for (code, rank, multiplier) in [("normal", Int32(0), Int32(10_000)), ("silver", 1, 15_000), ("gold", 2, 20_000), ("diamond", 3, 30_000)] {
            _ = try await hq.setTier(.with {
                $0.requestID = UUID().uuidString
                $0.tier = .with { $0.code = code; $0.name = code.capitalized; $0.rank = rank; $0.multiplierBasisPoints = multiplier }
            }, metadata: metadata)
        }
        let merchants: [(String, String, Atrium_V1_MerchantCategory, Int32)] = [
            ("FRESHMART", "FreshMart", .supermarket, 0), ("NOODLES", "Noodle House", .foodAndBeverage, 0),
            ("ZARA", "Zara", .fashion, 7), ("CARTIER", "Cartier", .luxury, 14), ("CINEMA", "Wanda Cinema", .cinema, 0),
        ]
        for (code, name, category, pending) in merchants {
            _ = try await hq.createMerchant(.with {
                $0.requestID = UUID().uuidString; $0.code = code; $0.name = name; $0.category = category; $0.pendingDays = pending
            }, metadata: metadata)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try await hq.createCampaign(.with {
            $0.requestID = UUID().uuidString
            $0.campaign = .with {
                $0.name = "Double points at F&B on weekends"
                $0.startsAtUnixMs = now
                $0.endsAtUnixMs = now + 365 * 86_400_000
                $0.weekdays = [6, 7]
                $0.categories = [.foodAndBeverage]
                $0.multiplierBasisPoints = 20_000
            }
        }, metadata: metadata)
        _ = try await hq.createCampaign(.with {
            $0.requestID = UUID().uuidString
            $0.campaign = .with {
                $0.name = "Spend ¥500, get 200 points"
                $0.startsAtUnixMs = now
                $0.endsAtUnixMs = now + 90 * 86_400_000
                $0.bonusPoints = 200
                $0.minimumEligibleMinor = 50_000
                $0.budgetPoints = 1_000_000
            }
        }, metadata: metadata)
        _ = try await hq.createPartner(.with { $0.requestID = UUID().uuidString; $0.code = "CATHAY"; $0.name = "Cathay Miles" }, metadata: metadata)
        var memberIds: [Int64] = []
        for (phone, name, tier) in [("13800000001", "王小明", "normal"), ("13800000002", "李华", "silver"), ("13800000003", "陈静", "gold")] {
            let member = try await members.registerMember(.with { $0.requestID = UUID().uuidString; $0.phone = phone; $0.name = name }, metadata: metadata).member
            memberIds.append(member.id)
            if tier != "normal" {
                _ = try await members.setMemberTier(.with { $0.requestID = UUID().uuidString; $0.memberID = member.id; $0.tierCode = tier }, metadata: metadata)
            }
        }
        // A coupon for every member (the mall pays 70 % of it), and the points mall's first reward.
        let template = try await hq.createCouponTemplate(.with {
            $0.requestID = UUID().uuidString
            $0.template = .with {
                $0.name = "¥20 off ¥200"; $0.amountOffMinor = 2_000; $0.minimumSpendMinor = 20_000; $0.validDaysAfterIssue = 30; $0.mallShareBasisPoints = 7_000
            }
        }, metadata: metadata).template
        _ = try await hq.issueCoupons(.with { $0.requestID = UUID().uuidString; $0.templateID = template.id; $0.memberIds = memberIds }, metadata: metadata)
        let desk = try await hq.listMerchants(Atrium_V1_ListMerchantsRequest(), metadata: metadata).merchants.first { $0.code == "CINEMA" }
        if let desk {
            _ = try await hq.createReward(.with {
                $0.requestID = UUID().uuidString
                $0.reward = .with {
                    $0.name = "Two cinema tickets"; $0.kind = .service; $0.pointsPrice = 2_000; $0.stock = 100; $0.perMemberLimit = 2
                    $0.merchantID = desk.id; $0.costMinor = 6_000
                }
            }, metadata: metadata)
        }
    }
}
