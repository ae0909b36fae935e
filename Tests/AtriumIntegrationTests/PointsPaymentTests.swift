import AtriumProto
import Foundation
import GRPCCore
import Testing

/// Points pay part of a bill at the till, inside SubmitOrder: on the member's QR token or a hold,
/// from the earliest-expiring lots, earning only on what they did not pay; a refund gives them back.
@Suite("Paying with points at checkout")
struct CheckoutPointsTests {
    /// Points pay up to half a bill from 200 points, 100 points = ¥1. Fashion earns 1 point per ¥1;
    /// food earns nothing (no rule). The member earned `points` at the fashion till.
    struct Shop {
        let fixture: MallFixture
        let fashion: Atrium_V1_Merchant
        let fashionTill: Api
        let food: Atrium_V1_Merchant
        let foodTill: Api
        let app: Api
        let member: Atrium_V1_Member
    }

    static func shop(points: Int64, redeemPoints: Int64 = 0, minimumPoints: Int64 = 200, expiry: Atrium_V1_ExpiryPolicyKind = .never,
                     expiryDays: Int32 = 0) async throws -> Shop {
        let fixture = try await MallFixture.create(
            expiry: expiry, expiryParameter: expiryDays, pointsPaymentMaxShareBasisPoints: 5_000, pointsPaymentMinimumPoints: minimumPoints,
            redeemPoints: redeemPoints, redeemValueMinor: redeemPoints)
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (fashion, fashionTill) = try await fixture.merchant(category: .fashion)
        let (food, foodTill) = try await fixture.merchant(category: .foodAndBeverage)
        let member = try await fixture.member()
        if points > 0 { _ = try await fashionTill.submit("EARN", member: member, amountMinor: points * 100) }
        return Shop(fixture: fixture, fashion: fashion, fashionTill: fashionTill, food: food, foodTill: foodTill, app: try await fixture.memberAppKey(), member: member)
    }

    static func qr(_ shop: Shop) async throws -> String {
        try await PointHoldTests.qrToken(shop.app, shop.member)
    }

    /// An order paying `points` (or capturing `holdId`), naming the member by QR token when given, else by member code.
    static func pay(
        _ till: Api, _ number: String, qr: String? = nil, member: Atrium_V1_Member? = nil, amountMinor: Int64, points: Int64 = 0, holdId: Int64 = 0,
        pointsPaidMinor: Int64 = 0
    ) async throws -> Atrium_V1_Order {
        try await till.merchant.submitOrder(.with {
            $0.order = .with {
                $0.orderNumber = number
                $0.member = .with { if let qr { $0.qrToken = qr } else if let member { $0.memberCode = member.memberCode } }
                $0.amountMinor = amountMinor
                $0.pointsToSpend = points
                $0.holdID = holdId
                $0.pointsPaidMinor = pointsPaidMinor
            }
        }, metadata: till.metadata).order
    }

    @Test func pointsPayPartOfTheBillAndOnlyTheRestEarns() async throws {
        let shop = try await Self.shop(points: 1_000)
        let qr = try await Self.qr(shop)
        let order = try await Self.pay(shop.fashionTill, "P-1", qr: qr, amountMinor: 10_000, points: 500)
        #expect(order.pointsSpent == 500 && order.pointsPaidMinor == 500)
        #expect(order.eligibleMinor == 9_500 && order.earnedPoints == 95)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 1_000 - 500 + 95)
        let replay = try await Self.pay(shop.fashionTill, "P-1", qr: qr, amountMinor: 10_000, points: 500)
        #expect(replay == order, "a retry answers the recorded order and spends nothing more")
        await expectStatus(.alreadyExists) { try await Self.pay(shop.fashionTill, "P-1", qr: qr, amountMinor: 10_000, points: 600) }
        // A retry after the member spent the rest still replays: a recorded order is answered, not re-checked.
        _ = try await Self.pay(shop.fashionTill, "P-2", qr: qr, amountMinor: 100_000, points: 500)
        #expect(try await Self.pay(shop.fashionTill, "P-1", qr: qr, amountMinor: 10_000, points: 500) == order)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 95 + 995)
        let history = try await shop.fixture.hq.members.listTransactions(.with { $0.memberID = shop.member.id }, metadata: shop.fixture.hq.metadata).transactions
        #expect(history.map(\.kind) == [.earn, .spend, .earn, .spend, .earn])
        #expect(history.map(\.points) == [995, -500, 95, -500, 1_000])
        #expect(history[3].lines.map(\.funder) == ["merchant:\(shop.fashion.id)"], "the spend names whose points paid")
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func spendingNeedsTheMemberPresentAndStaysWithinTheMallsRules() async throws {
        let shop = try await Self.shop(points: 10_000)
        let qr = try await Self.qr(shop)
        await expectRefusal("MEMBER_NOT_PRESENT") { try await Self.pay(shop.foodTill, "R-1", member: shop.member, amountMinor: 10_000, points: 500) }
        await expectStatus(.invalidArgument, mentioning: "points_paid_minor") {
            try await Self.pay(shop.foodTill, "R-2", qr: qr, amountMinor: 10_000, points: 500, pointsPaidMinor: 500)
        }
        await expectStatus(.invalidArgument, mentioning: "whole steps of 100") { try await Self.pay(shop.foodTill, "R-3", qr: qr, amountMinor: 10_000, points: 550) }
        await expectRefusal("POINTS_BELOW_MINIMUM") { try await Self.pay(shop.foodTill, "R-4", qr: qr, amountMinor: 10_000, points: 100) }
        // Half of ¥100.00 exactly, and one step over it.
        await expectRefusal("POINTS_ABOVE_BILL_SHARE") { try await Self.pay(shop.foodTill, "R-5", qr: qr, amountMinor: 10_000, points: 5_100) }
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 10_000, "no refusal spent anything")
        #expect(try await Self.pay(shop.foodTill, "R-6", qr: qr, amountMinor: 10_000, points: 5_000).pointsSpent == 5_000)
        // 5,000 left: exactly that pays, one step more does not.
        await expectRefusal("INSUFFICIENT_POINTS") { try await Self.pay(shop.foodTill, "R-7", qr: qr, amountMinor: 100_000, points: 5_100) }
        #expect(try await Self.pay(shop.foodTill, "R-8", qr: qr, amountMinor: 100_000, points: 5_000).pointsSpent == 5_000)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 0)
        _ = try await shop.fixture.hq.members.freezeMember(
            .with { $0.requestID = Unique.requestId(); $0.memberID = shop.member.id; $0.reason = "abuse" }, metadata: shop.fixture.hq.metadata)
        await expectRefusal("MEMBER_FROZEN") { try await Self.pay(shop.foodTill, "R-9", qr: qr, amountMinor: 10_000, points: 200) }
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func aHoldIsCapturedOnceByTheTillThatMadeItAndTheRestIsReleased() async throws {
        let shop = try await Self.shop(points: 1_000)
        let qr = try await Self.qr(shop)
        let hold = try await PointHoldTests.hold(shop.foodTill, qr: qr, points: 400)
        await expectStatus(.notFound) { try await Self.pay(shop.fashionTill, "H-0", member: shop.member, amountMinor: 10_000, holdId: hold.id) }
        await expectStatus(.invalidArgument, mentioning: "400 points of hold") {
            try await Self.pay(shop.foodTill, "H-1", member: shop.member, amountMinor: 10_000, points: 500, holdId: hold.id)
        }
        // The hold is the member's presence: the static member code is enough with it.
        let order = try await Self.pay(shop.foodTill, "H-2", member: shop.member, amountMinor: 10_000, points: 300, holdId: hold.id)
        #expect(order.pointsSpent == 300 && order.pointsPaidMinor == 300)
        let balance = try await shop.fixture.balance(shop.member.id)
        #expect(balance.availablePoints == 700 && balance.heldPoints == 0, "the hold's other 100 points are free again")
        await expectRefusal("HOLD_CAPTURED") { try await Self.pay(shop.foodTill, "H-3", member: shop.member, amountMinor: 10_000, holdId: hold.id) }
        await expectRefusal("HOLD_CAPTURED") { try await PointHoldTests.release(shop.foodTill, hold.id) }

        // The member app's hold needs the member's QR token at the till.
        let appHold = try await PointHoldTests.hold(shop.app, memberId: shop.member.id, points: 200)
        await expectStatus(.notFound) { try await Self.pay(shop.fashionTill, "H-4", member: shop.member, amountMinor: 10_000, holdId: appHold.id) }
        #expect(try await Self.pay(shop.fashionTill, "H-5", qr: qr, amountMinor: 10_000, holdId: appHold.id).pointsSpent == 200)
        let released = try await PointHoldTests.hold(shop.foodTill, qr: qr, points: 200)
        _ = try await PointHoldTests.release(shop.foodTill, released.id)
        await expectRefusal("HOLD_RELEASED") { try await Self.pay(shop.foodTill, "H-6", member: shop.member, amountMinor: 10_000, holdId: released.id) }
        // Food earns nothing; fashion earned 98 on the ¥98.00 the app's hold did not pay.
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 1_000 - 300 - 200 + 98)
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func twentyConcurrentSpendsAtTwoTillsNeverSpendMoreThanTheMemberHas() async throws {
        // 10 points = ¥0.10: a 100-point balance pays ten spends of 10, never an eleventh.
        let shop = try await Self.shop(points: 100, redeemPoints: 10, minimumPoints: 0)
        let qr = try await Self.qr(shop)
        let second = try await shop.fixture.hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = shop.food.id; $0.label = "till 2"
        }, metadata: shop.fixture.hq.metadata)
        let tills = [shop.foodTill, shop.foodTill.with(key: second.key.secret)]
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask {
                    do {
                        let order = try await retryingAborted { try await Self.pay(tills[index % 2], "C-\(index)", qr: qr, amountMinor: 1_000, points: 10) }
                        return order.pointsSpent == 10 ? "paid" : "other"
                    } catch let error as RPCError {
                        return "\(error.code)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0 == "paid" }.count == 10, "\(outcomes)")
        #expect(outcomes.filter { $0 == "failedPrecondition" }.count == 10, "\(outcomes)")
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 0)
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func refundsGiveBackThePaidPointsInProportionAndClawBackTheEarnedOnes() async throws {
        let shop = try await Self.shop(points: 1_000)
        let qr = try await Self.qr(shop)
        _ = try await Self.pay(shop.fashionTill, "F-1", qr: qr, amountMinor: 10_000, points: 500)  // earns 95
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 595)
        let half = try await shop.fashionTill.refund("F-1-r1", orderNumber: "F-1", amountMinor: 5_000)
        #expect(half.refund.returnedPoints == 250 && half.refund.clawedBackPoints == 47)
        #expect(half.order.pointsReturned == 250)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 595 + 250 - 47)
        let rest = try await shop.fashionTill.refund("F-1-r2", orderNumber: "F-1")
        #expect(rest.refund.returnedPoints == 250 && rest.refund.clawedBackPoints == 48)
        #expect(rest.order.pointsReturned == 500 && rest.order.pointsSpent == 500)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 1_000, "as before the order, exactly")
        var replayed = rest
        replayed.replayed = true
        #expect(try await shop.fashionTill.refund("F-1-r2", orderNumber: "F-1") == replayed)
        let lots = try await shop.fixture.hq.members.listLots(.with { $0.memberID = shop.member.id }, metadata: shop.fixture.hq.metadata).lots
        #expect(lots.map(\.remainingPoints) == [1_000], "the points went back into the lot they came from")
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func pointsWhoseLotExpiredComeBackAsANewLotOfTheMallsMinimumValidity() async throws {
        let shop = try await Self.shop(points: 0, expiry: .daysAfterEarning, expiryDays: 1)
        let qr = try await Self.qr(shop)
        // A one-day lot earned a day less 12 seconds ago: it expires 12 seconds from now, long
        // enough for the payment to come inside it even on Citus under the whole suite's load.
        let started = ContinuousClock.now
        let earnedAt = EarningTests.nowMilliseconds() - ExpiryTests.dayMilliseconds + 12_000
        _ = try await shop.fashionTill.submit("EARN", member: shop.member, amountMinor: 100_000, paidAt: earnedAt)
        _ = try await Self.pay(shop.foodTill, "E-1", qr: qr, amountMinor: 10_000, points: 400)
        try await Task.sleep(until: started + .milliseconds(12_300))
        _ = try await ExpiryTests.expire(shop.fixture)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 0, "the 600 left expired")
        let refundedAt = EarningTests.nowMilliseconds()
        let refund = try await shop.foodTill.refund("E-1-r", orderNumber: "E-1")
        #expect(refund.refund.returnedPoints == 400)
        #expect(try await shop.fixture.balance(shop.member.id).availablePoints == 400)
        let lots = try await shop.fixture.hq.members.listLots(.with { $0.memberID = shop.member.id }, metadata: shop.fixture.hq.metadata).lots
        #expect(lots.count == 1 && lots[0].remainingPoints == 400 && lots[0].funder == "merchant:\(shop.fashion.id)")
        let validity = lots[0].expiresAtUnixMs - refundedAt
        #expect(validity >= 30 * ExpiryTests.dayMilliseconds - 5_000 && validity <= 30 * ExpiryTests.dayMilliseconds + 5_000)
        #expect(try await shop.fixture.ledgerViolations() == [])
    }

    @Test func settlementPaysTheMerchantWherePointsPaidAndTakesItBackOnRefund() async throws {
        let shop = try await Self.shop(points: 1_000)
        let qr = try await Self.qr(shop)
        _ = try await Self.pay(shop.foodTill, "S-1", qr: qr, amountMinor: 10_000, points: 500)
        _ = try await shop.foodTill.refund("S-1-r", orderNumber: "S-1", amountMinor: 5_000)
        let closed = try await SettlementTests.close(shop.fixture, endingAt: try await SettlementTests.now())
        let statements = try await SettlementTests.statements(shop.fixture, period: closed.period.id)
        // Fashion issued 1,000 points (pays ¥10.00); 500 paid at food (the mall owes it ¥5.00), 250
        // came back with the refund (food repays ¥2.50). The mall is the other side of each line.
        #expect(SettlementTests.summary(statements) == [
            "1:0 net 750 [1 1 1000 1000][4 1 -500 -500][7 1 250 250]",
            "2:\(shop.fashion.id) net -1000 [1 1 -1000 -1000]",
            "2:\(shop.food.id) net 250 [4 1 500 500][7 1 -250 -250]",
        ])
        #expect(statements.reduce(0) { $0 + $1.netMinor } == 0)
        #expect(try await shop.fixture.ledgerViolations() == [])
    }
}
