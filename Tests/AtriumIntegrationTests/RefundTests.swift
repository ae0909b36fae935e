import AtriumProto
import GRPCCore
import Testing

@Suite("Refunds claw back points in proportion, once")
struct RefundTests {
    @Test func partialRefundsAddingUpToTheWholeOrderClawBackEverything() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        let order = try await pos.submit("PR-1", member: member, amountMinor: 10_050).order
        #expect(order.earnedPoints == 100)

        // floor(100 × 3333 / 10050) = 33; floor(100 × 6666 / 10050) = 66 → 33; the rest → 34.
        let first = try await pos.refund("r1", orderNumber: "PR-1", amountMinor: 3_333)
        #expect(first.refund.clawedBackPoints == 33)
        #expect(first.order.status == .partiallyRefunded)
        let second = try await pos.refund("r2", orderNumber: "PR-1", amountMinor: 3_333)
        #expect(second.refund.clawedBackPoints == 33)
        await expectStatus(.invalidArgument, mentioning: "amount_minor") { try await pos.refund("r3", orderNumber: "PR-1", amountMinor: 3_385) }
        let last = try await pos.refund("r3", orderNumber: "PR-1", amountMinor: 3_384)
        #expect(last.refund.clawedBackPoints == 34)
        #expect(last.order.status == .refunded)
        #expect(last.order.refundedMinor == 10_050)
        #expect(last.order.clawedBackPoints == 100)
        #expect(last.order.refunds.map(\.refundID) == ["r1", "r2", "r3"])
        // The response is built from what was written; it must be what a read finds.
        let stored = try await pos.merchant.getOrder(.with { $0.orderNumber = "PR-1" }, metadata: pos.metadata).order
        #expect(last.order == stored)
        #expect(try await fixture.balance(member.id).availablePoints == 0)
        await expectStatus(.failedPrecondition, mentioning: "fully refunded") { try await pos.refund("r4", orderNumber: "PR-1") }
        // The spent lot leaves the live listing and stays in the full one.
        let live = try await fixture.hq.members.listLots(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).lots
        #expect(live.isEmpty)
        let all = try await fixture.hq.members.listLots(.with { $0.memberID = member.id; $0.includeDepleted = true }, metadata: fixture.hq.metadata).lots
        #expect(all.map(\.amountPoints) == [100])
        #expect(all.map(\.remainingPoints) == [0])
        #expect(all.map(\.orderID) == [order.id])

        let history = try await fixture.hq.members.listTransactions(.with { $0.memberID = member.id }, metadata: fixture.hq.metadata).transactions
        #expect(history.map(\.points) == [-34, -33, -33, 100])
        #expect(history.first?.kind == .refund)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func refundsAreIdempotentOnTheirId() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        _ = try await pos.submit("ID-1", member: member, amountMinor: 10_000)
        let first = try await pos.refund("once", orderNumber: "ID-1", amountMinor: 5_000)
        #expect(!first.replayed)
        let again = try await pos.refund("once", orderNumber: "ID-1", amountMinor: 5_000)
        #expect(again.replayed)
        #expect(again.refund == first.refund)
        await expectStatus(.alreadyExists, mentioning: "once") { try await pos.refund("once", orderNumber: "ID-1", amountMinor: 4_000) }
        let order = try await pos.merchant.getOrder(.with { $0.orderNumber = "ID-1" }, metadata: pos.metadata).order
        #expect(order.refundedMinor == 5_000)
        #expect(first.order == order)
        #expect(again.order == order)
        #expect(try await fixture.balance(member.id).availablePoints == 50)
    }

    /// Like Stripe's idempotency keys: a retry after later refunds gets the very answer the first
    /// call got (with `replayed`), not the order as it is now.
    @Test func aReplayAfterLaterRefundsReturnsExactlyTheOriginalResponse() async throws {
        let fixture = try await MallFixture.create(shortfall: .allowDebt)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        let submitted = try await pos.submit("RP-1", member: member, amountMinor: 10_000, lines: [
            .with { $0.sku = "A"; $0.quantity = 2; $0.amountMinor = 6_000 }, .with { $0.sku = "B"; $0.quantity = 1; $0.amountMinor = 4_000 },
        ])
        let first = try await pos.refund("rp-1", orderNumber: "RP-1", amountMinor: 3_000)
        let second = try await pos.refund("rp-2", orderNumber: "RP-1", amountMinor: 2_500)
        let third = try await pos.refund("rp-3", orderNumber: "RP-1")
        #expect(third.order.status == .refunded && third.order.refunds.count == 3)

        let submittedAgain = try await pos.submit("RP-1", member: member, amountMinor: 10_000, lines: [
            .with { $0.sku = "A"; $0.quantity = 2; $0.amountMinor = 6_000 }, .with { $0.sku = "B"; $0.quantity = 1; $0.amountMinor = 4_000 },
        ])
        #expect(submittedAgain.replayed && !submitted.replayed)
        #expect(submittedAgain.order == submitted.order)
        #expect(submittedAgain.order.status == .completed && submittedAgain.order.refunds.isEmpty)
        for (id, amount, original) in [("rp-1", Int64?(3_000), first), ("rp-2", 2_500, second), ("rp-3", nil, third)] {
            let again = try await pos.refund(id, orderNumber: "RP-1", amountMinor: amount)
            #expect(again.replayed && !original.replayed)
            #expect(again.order == original.order, "\(id)")
            #expect(again.refund == original.refund, "\(id)")
        }
        #expect(second.order.refunds.map(\.refundID) == ["rp-1", "rp-2"])
        #expect(second.order.refundedMinor == 5_500 && second.order.status == .partiallyRefunded)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func refundsByLinesUseTheLineAmounts() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let pos = try await fixture.merchant(category: .fashion).api
        let member = try await fixture.member()
        let lines: [Atrium_V1_OrderLine] = [
            .with { $0.sku = "SHIRT"; $0.quantity = 3; $0.amountMinor = 6_000 },
            .with { $0.sku = "BELT"; $0.quantity = 1; $0.amountMinor = 4_000 },
        ]
        let order = try await pos.submit("L-1", member: member, amountMinor: 10_000, lines: lines).order
        #expect(order.lines.count == 2)
        #expect(order.earnedPoints == 100)
        func refundLines(_ id: String, _ items: [(Int32, Int64)]) async throws -> Atrium_V1_RefundOrderResponse {
            try await pos.merchant.refundOrder(.with {
                $0.refundID = id
                $0.orderNumber = "L-1"
                $0.lines = .with { $0.lines = items.map { item in .with { $0.lineIndex = item.0; $0.quantity = item.1 } } }
            }, metadata: pos.metadata)
        }
        let one = try await refundLines("l1", [(0, 1)])
        #expect(one.refund.amountMinor == 2_000)
        #expect(one.refund.clawedBackPoints == 20)
        await expectStatus(.invalidArgument, mentioning: "quantity") { try await refundLines("l2", [(0, 3)]) }
        await expectStatus(.invalidArgument, mentioning: "line_index") { try await refundLines("l2", [(2, 1)]) }
        await expectStatus(.invalidArgument, mentioning: "twice") { try await refundLines("l2", [(1, 1), (1, 1)]) }
        let rest = try await refundLines("l2", [(0, 2), (1, 1)])
        #expect(rest.refund.amountMinor == 8_000)
        #expect(rest.order.status == .refunded)
        #expect(rest.order == (try await pos.merchant.getOrder(.with { $0.orderNumber = "L-1" }, metadata: pos.metadata).order))
        #expect(try await fixture.balance(member.id).availablePoints == 0)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func manyConcurrentOrdersAndRefundsForOneMemberEndExact() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.supermarket, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .supermarket).api
        let member = try await fixture.member()
        for i in 0..<25 { _ = try await pos.submit("CC-\(i)", member: member, amountMinor: 10_000) }
        #expect(try await fixture.balance(member.id).availablePoints == 250)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // 75 calls contend for one member's lock: a call whose wait passed the server's
            // limit answers ABORTED and the till retries it, as a real till would.
            for i in 25..<50 { group.addTask { _ = try await retryingAborted { try await pos.submit("CC-\(i)", member: member, amountMinor: 10_000) } } }
            for i in 0..<25 {
                // Each refund is sent twice: the retry must change nothing.
                group.addTask { _ = try await retryingAborted { try await pos.refund("CR-\(i)", orderNumber: "CC-\(i)") } }
                group.addTask { _ = try await retryingAborted { try await pos.refund("CR-\(i)", orderNumber: "CC-\(i)") } }
            }
            try await group.waitForAll()
        }
        let balance = try await fixture.balance(member.id)
        #expect(balance.availablePoints == 250)
        #expect(balance.lifetimeEarnedPoints == 500)
        #expect(try await fixture.ledgerViolations() == [])
    }

    @Test func aCampaignBudgetIsNeverExceededUnderConcurrency() async throws {
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.foodAndBeverage, pointsPerStep: 1, stepMinor: 1_000)
        let pos = try await fixture.merchant(category: .foodAndBeverage).api
        let now = EarningTests.nowMilliseconds()
        let campaign = try await fixture.hq.hq.createCampaign(.with {
            $0.requestID = Unique.requestId()
            $0.campaign = .with {
                $0.name = "First 100 points free"
                $0.startsAtUnixMs = now - 60_000
                $0.endsAtUnixMs = now + 3_600_000
                $0.bonusPoints = 30
                $0.budgetPoints = 100
            }
        }, metadata: fixture.hq.metadata).campaign
        var members: [Atrium_V1_Member] = []
        for _ in 0..<12 { members.append(try await fixture.member()) }
        let orders = try await withThrowingTaskGroup(of: Atrium_V1_Order.self) { group in
            for (i, member) in members.enumerated() { group.addTask { try await pos.submit("B-\(i)", member: member, amountMinor: 10_000).order } }
            return try await group.reduce(into: [Atrium_V1_Order]()) { $0.append($1) }
        }
        let campaignPoints = orders.flatMap(\.breakdown.lines).filter { $0.rule == "campaign:\(campaign.id)" }.map(\.points)
        #expect(campaignPoints.reduce(0, +) == 100)
        #expect(campaignPoints.sorted() == [10, 30, 30, 30])
        let totalEarned: Int64 = orders.map(\.earnedPoints).reduce(0, +)
        #expect(totalEarned == 220)
        let listed = try await fixture.hq.hq.listCampaigns(Atrium_V1_ListCampaignsRequest(), metadata: fixture.hq.metadata).campaigns
        #expect(listed.first?.spentPoints == 100)
        #expect(try await fixture.ledgerViolations() == [])
    }
}
