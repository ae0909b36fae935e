import AtriumProto
import Foundation
import GRPCCore
import Testing

@Suite("Orders earn exactly the right points")
struct EarningTests {
    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Today's ISO weekday (1 Monday ... 7 Sunday) in the test malls' zone.
    static func shanghaiWeekday(_ ms: Int64 = nowMilliseconds()) -> Int32 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let sundayFirst = calendar.component(.weekday, from: Date(timeIntervalSince1970: Double(ms) / 1000))
        return Int32((sundayFirst + 5) % 7 + 1)
    }

    @Test func onePointPerTenYuanWithItsExplanationLotAndJournal() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let (shop, pos) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()

        let order = try await pos.submit("F-1", member: member, amountMinor: 12_345).order
        #expect(order.earnedPoints == 12)
        #expect(order.eligibleMinor == 12_345)
        #expect(order.status == .completed)
        #expect(order.breakdown.totalPoints == 12)
        let base = try #require(order.breakdown.lines.first)
        #expect(base.rule == "base")
        #expect(base.points == 12)
        #expect(base.funder == "merchant:\(shop.id)")

        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 12)
        #expect(balance.pendingPoints == 0)
        #expect(balance.lifetimeEarnedPoints == 12)
        let history = try await fixture.hq.members.listTransactions(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).transactions
        #expect(history.count == 1)
        #expect(history[0].kind == .earn)
        #expect(history[0].points == 12)
        #expect(history[0].orderID == order.id)
        #expect(history[0].lines.map(\.points) == [12])
        let lots = try await fixture.hq.members.listLots(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).lots
        #expect(lots.map(\.remainingPoints) == [12])
        #expect(lots[0].funder == "merchant:\(shop.id)")
        #expect(lots[0].expiresAtUnixMs == 0)

        // One fen below the next step earns no more; a step earns one more.
        #expect(try await pos.submit("F-2", member: member, amountMinor: 1_999).order.earnedPoints == 1)
        #expect(try await pos.submit("F-3", member: member, amountMinor: 999).order.earnedPoints == 0)
        #expect(try await fixture.balance(member.id).availablePoints == 13)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func tierMultipliersNormalSilverGold() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.luxury, pointsPerStep: 1, stepMinor: 100)
        try await fixture.setTier("normal", rank: 0, multiplierBasisPoints: 10_000)
        try await fixture.setTier("silver", rank: 1, multiplierBasisPoints: 15_000)
        try await fixture.setTier("gold", rank: 2, multiplierBasisPoints: 20_000)
        let pos = try await fixture.merchant(category: .luxury).api
        var earned: [String: Int64] = [:]
        for tier in ["normal", "silver", "gold"] {
            let member = try await fixture.member(tier: tier)
            let order = try await pos.submit("T-\(tier)", member: member, amountMinor: 10_000).order
            earned[tier] = order.earnedPoints
            #expect(try await fixture.balance(member.id).availablePoints == order.earnedPoints)
            if tier == "gold" {
                #expect(order.breakdown.lines.map(\.rule) == ["base", "tier"])
                #expect(order.breakdown.lines[1].funder == "mall")
            }
        }
        #expect(earned == ["normal": 100, "silver": 150, "gold": 200])
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func merchantRuleOverridesCategoryAndEligibleExcludesPointsAndCoupons() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.foodAndBeverage, pointsPerStep: 1, stepMinor: 1_000)
        let (shop, pos) = try await fixture.merchant(category: .foodAndBeverage)
        let member = try await fixture.member()
        _ = try await fixture.hq.hq.setMerchantRule(.with {
            $0.requestID = Unique.requestId()
            $0.merchantID = shop.id
            $0.rule = .with { $0.pointsPerStep = 5; $0.stepAmountMinor = 1_000 }
        }, metadata: fixture.hq.metadata)
        #expect(try await pos.submit("R-1", member: member, amountMinor: 10_000).order.earnedPoints == 50)
        let mixed = try await pos.submit("R-2", member: member, amountMinor: 10_000, pointsPaid: 2_000, couponPaid: 3_000).order
        #expect(mixed.eligibleMinor == 5_000)
        #expect(mixed.earnedPoints == 25)
        _ = try await fixture.hq.hq.clearMerchantRule(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id }, metadata: fixture.hq.metadata)
        #expect(try await pos.submit("R-3", member: member, amountMinor: 10_000).order.earnedPoints == 10)
        let unruled = try await fixture.merchant(category: .cinema).api
        let none = try await unruled.submit("R-4", member: member, amountMinor: 10_000).order
        #expect(none.earnedPoints == 0)
        #expect(none.breakdown.lines.first?.description_p.contains("no earning rule") == true)
        #expect(try await fixture.balance(member.id).availablePoints == 85)
    }

    @Test func campaignsByWeekdayThresholdsAndQuotesThatWriteNothing() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.foodAndBeverage, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .foodAndBeverage).api
        let member = try await fixture.member()
        let now = Self.nowMilliseconds()
        let today = Self.shanghaiWeekday(now)
        let otherDay = today % 7 + 1
        for (name, weekday) in [("Double points today", today), ("Double points another day", otherDay)] {
            _ = try await fixture.hq.hq.createCampaign(.with {
                $0.requestID = Unique.requestId()
                $0.campaign = .with {
                    $0.name = name
                    $0.startsAtUnixMs = now - 3_600_000
                    $0.endsAtUnixMs = now + 3_600_000
                    $0.weekdays = [weekday]
                    $0.categories = [.foodAndBeverage]
                    $0.multiplierBasisPoints = 20_000
                }
            }, metadata: fixture.hq.metadata)
        }
        _ = try await fixture.hq.hq.createCampaign(.with {
            $0.requestID = Unique.requestId()
            $0.campaign = .with {
                $0.name = "Spend 500 get 200"
                $0.startsAtUnixMs = now - 3_600_000
                $0.endsAtUnixMs = now + 3_600_000
                $0.bonusPoints = 200
                $0.minimumEligibleMinor = 50_000
            }
        }, metadata: fixture.hq.metadata)

        let quote = try await pos.merchant.quoteOrder(.with {
            $0.order = .with { $0.orderNumber = "Q-1"; $0.member = .with { $0.memberCode = member.memberCode }; $0.amountMinor = 60_000 }
        }, metadata: pos.metadata)
        #expect(quote.breakdown.totalPoints == 60 + 60 + 200)
        #expect(quote.memberID == member.id)
        #expect(try await fixture.balance(member.id).availablePoints == 0)
        #expect(try await pos.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: pos.metadata).orders.isEmpty)

        let big = try await pos.submit("C-1", member: member, amountMinor: 60_000).order
        #expect(big.earnedPoints == 320)
        #expect(big.breakdown.lines.map(\.rule).filter { $0.hasPrefix("campaign:") }.count == 2)
        #expect(big.breakdown.lines.filter { $0.rule.hasPrefix("campaign:") }.allSatisfy { $0.funder == "mall" })
        let small = try await pos.submit("C-2", member: member, amountMinor: 40_000).order
        #expect(small.earnedPoints == 80)
        #expect(try await fixture.balance(member.id).availablePoints == 400)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func perOrderAndDailyCaps() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.supermarket, pointsPerStep: 1, stepMinor: 100, perOrderCap: 30, dailyCap: 40)
        let pos = try await fixture.merchant(category: .supermarket).api
        let member = try await fixture.member()
        let first = try await pos.submit("CAP-1", member: member, amountMinor: 5_000).order
        #expect(first.earnedPoints == 30)
        #expect(first.breakdown.lines.map(\.rule) == ["base", "cap"])
        let second = try await pos.submit("CAP-2", member: member, amountMinor: 5_000).order
        #expect(second.earnedPoints == 10)
        let third = try await pos.submit("CAP-3", member: member, amountMinor: 5_000).order
        #expect(third.earnedPoints == 0)
        // Another member has a daily allowance of its own.
        let other = try await fixture.member()
        #expect(try await pos.submit("CAP-4", member: other, amountMinor: 5_000).order.earnedPoints == 30)
        #expect(try await fixture.balance(member.id).availablePoints == 40)
    }

    @Test func retriesReplayAndConflictingReplaysChangeNothing() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        let first = try await pos.submit("RT-1", member: member, amountMinor: 50_000)
        #expect(!first.replayed)
        let retry = try await pos.submit("RT-1", member: member, amountMinor: 50_000)
        #expect(retry.replayed)
        #expect(retry.order == first.order)
        await expectStatus(.alreadyExists, mentioning: "RT-1") { try await pos.submit("RT-1", member: member, amountMinor: 60_000) }
        #expect(try await fixture.balance(member.id).availablePoints == 50)

        // Concurrent retries of one new order record it once.
        let results = try await withThrowingTaskGroup(of: Atrium_V1_SubmitOrderResponse.self) { group in
            for _ in 0..<10 { group.addTask { try await pos.submit("RT-2", member: member, amountMinor: 20_000) } }
            return try await group.reduce(into: [Atrium_V1_SubmitOrderResponse]()) { $0.append($1) }
        }
        #expect(Set(results.map(\.order.id)).count == 1)
        #expect(results.filter { !$0.replayed }.count == 1)
        #expect(try await fixture.balance(member.id).availablePoints == 70)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func suspendedMerchantsAndFrozenMembersAreRefused() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let (shop, pos) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        let hq = fixture.hq
        _ = try await hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id; $0.reason = "audit" }, metadata: hq.metadata)
        await expectRefusal("MERCHANT_SUSPENDED") { try await pos.submit("S-1", member: member, amountMinor: 10_000) }
        await expectRefusal("MERCHANT_STATUS_UNCHANGED") {
            try await hq.hq.suspendMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id; $0.reason = "again" }, metadata: hq.metadata)
        }
        _ = try await hq.hq.reactivateMerchant(.with { $0.requestID = Unique.requestId(); $0.merchantID = shop.id }, metadata: hq.metadata)
        _ = try await hq.members.freezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id; $0.reason = "abuse" }, metadata: hq.metadata)
        await expectRefusal("MEMBER_FROZEN") { try await pos.submit("S-1", member: member, amountMinor: 10_000) }
        await expectRefusal("MEMBER_FROZEN") { try await hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: hq.metadata) }
        #expect(try await fixture.balance(member.id).availablePoints == 0)
        _ = try await hq.members.unfreezeMember(.with { $0.requestID = Unique.requestId(); $0.memberID = member.id }, metadata: hq.metadata)
        #expect(try await pos.submit("S-1", member: member, amountMinor: 10_000).order.earnedPoints == 10)
        _ = try await pos.refund("S-1-r", orderNumber: "S-1")
        await expectRefusal("ORDER_FULLY_REFUNDED") { try await pos.refund("S-1-r2", orderNumber: "S-1") }
        #expect(try await fixture.balance(member.id).availablePoints == 0)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func pendingPeriodHoldsPointsUntilTheReturnWindowEnds() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.electronics, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .electronics, pendingDays: 7).api
        let member = try await fixture.member()
        let now = Self.nowMilliseconds()
        let fresh = try await pos.submit("P-1", member: member, amountMinor: 30_000).order
        #expect(fresh.availableAtUnixMs == fresh.paidAtUnixMs + 7 * 86_400_000)
        _ = try await pos.submit("P-2", member: member, amountMinor: 20_000, paidAt: now - 8 * 86_400_000)
        var balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 20)
        #expect(balance.pendingPoints == 30)
        // A refund inside the window takes the pending points of that order.
        let refund = try await pos.refund("P-1-r", orderNumber: "P-1")
        #expect(refund.refund.clawedBackPoints == 30)
        balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 20)
        #expect(balance.pendingPoints == 0)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func ordersByQrTokenAndMerchantsSeeOnlyTheirOwnOrders() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let a = try await fixture.merchant(category: .fashion).api
        let b = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        let token = try await fixture.hq.members.issueQrToken(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).qrToken
        let order = try await a.merchant.submitOrder(.with {
            $0.order = .with { $0.orderNumber = "QR-1"; $0.member = .with { $0.qrToken = token }; $0.amountMinor = 10_000 }
        }, metadata: a.metadata).order
        #expect(order.memberID == member.id)
        #expect(try await a.merchant.listOrders(.with { $0.memberID = member.id }, metadata: a.metadata).orders.map(\.id) == [order.id])
        #expect(try await b.merchant.listOrders(Atrium_V1_ListOrdersRequest(), metadata: b.metadata).orders.isEmpty)
        await expectStatus(.notFound) { try await b.merchant.getOrder(.with { $0.orderID = order.id }, metadata: b.metadata) }
        await expectStatus(.notFound) { try await b.refund("steal", orderNumber: "QR-1") }
        // B may use the same order number for its own order.
        #expect(try await b.submit("QR-1", member: member, amountMinor: 20_000).order.earnedPoints == 20)
    }

    /// Pages newest first by keyset, filtered by member when asked, with each order's refunds.
    @Test func listOrdersPagesNewestFirstByMerchantAndByMember() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .fashion).api
        let other = try await fixture.merchant(category: .fashion).api
        let ann = try await fixture.member()
        let bob = try await fixture.member()
        var ids: [String: Int64] = [:]
        for (number, member) in [("L-1", ann), ("L-2", bob), ("L-3", ann), ("L-4", ann), ("L-5", bob)] {
            ids[number] = try await pos.submit(number, member: member, amountMinor: 10_000).order.id
        }
        _ = try await other.submit("L-6", member: ann, amountMinor: 10_000)
        _ = try await pos.refund("L-3-r", orderNumber: "L-3", amountMinor: 4_000)

        func pages(member: Int64 = 0) async throws -> [[String]] {
            var result: [[String]] = []
            var token = ""
            repeat {
                let page = try await pos.merchant.listOrders(.with { $0.pageSize = 2; $0.pageToken = token; $0.memberID = member }, metadata: pos.metadata)
                result.append(page.orders.map(\.orderNumber))
                token = page.nextPageToken
            } while !token.isEmpty
            return result
        }
        #expect(try await pages() == [["L-5", "L-4"], ["L-3", "L-2"], ["L-1"]])
        #expect(try await pages(member: ann.id) == [["L-4", "L-3"], ["L-1"]])
        // A full page always carries a token (the server does not read ahead), so the end can be an empty page.
        #expect(try await pages(member: bob.id) == [["L-5", "L-2"], []])

        let listed = try await pos.merchant.listOrders(.with { $0.memberID = ann.id }, metadata: pos.metadata).orders
        #expect(listed.map(\.id) == [ids["L-4"], ids["L-3"], ids["L-1"]])
        #expect(listed.map { $0.refunds.map(\.refundID) } == [[], ["L-3-r"], []])
        #expect(listed[1].refundedMinor == 4_000)
        #expect(listed[1].clawedBackPoints == 4)
        #expect(listed.allSatisfy { $0.memberCode == ann.memberCode })
    }
}
