import Testing
@testable import AtriumDomain

@Suite("Coupon templates")
struct CouponTemplateTests {
    static func template(_ benefit: CouponBenefit, minimum: Int64 = 0, validity: CouponValidity = .daysAfterIssue(30), merchants: [Int64] = [],
                         categories: [MerchantCategory] = [], share: Int32 = 7_000) -> CouponTemplate {
        CouponTemplate(id: 1, name: "T", benefit: benefit, minimumSpendMinor: minimum, validity: validity, merchantIds: merchants,
                       categories: categories, perMemberLimit: 1, totalQuantity: 0, mallShareBasisPoints: share)
    }

    @Test func discountsNeverExceedTheBasketAndPercentStopsAtItsCap() {
        let tenOff = Self.template(.amountOff(minor: 1_000))
        #expect(tenOff.discountMinor(basketMinor: 5_000) == 1_000)
        #expect(tenOff.discountMinor(basketMinor: 600) == 600)
        let fifteenPercent = Self.template(.percentOff(basisPoints: 1_500, capMinor: 2_000))
        #expect(fifteenPercent.discountMinor(basketMinor: 9_999) == 1_499, "rounded down")
        #expect(fifteenPercent.discountMinor(basketMinor: 13_333) == 1_999)
        #expect(fifteenPercent.discountMinor(basketMinor: 13_334) == 2_000, "at the cap exactly")
        #expect(fifteenPercent.discountMinor(basketMinor: 100_000) == 2_000)
        #expect(Self.template(.percentOff(basisPoints: 1_500, capMinor: 0)).discountMinor(basketMinor: 100_000) == 15_000, "no cap")
        #expect(Self.template(.freeGift(description: "tote bag")).discountMinor(basketMinor: 100_000) == 0)
    }

    @Test func theMallsShareRoundsDownAndTheMerchantBearsTheRest() {
        let t = Self.template(.amountOff(minor: 999), share: 7_000)
        #expect(t.mallShareMinor(ofDiscountMinor: 999) == 699)
        #expect(Self.template(.amountOff(minor: 1), share: 10_000).mallShareMinor(ofDiscountMinor: 1_000) == 1_000)
        #expect(Self.template(.amountOff(minor: 1), share: 0).mallShareMinor(ofDiscountMinor: 1_000) == 0)
    }

    @Test func aCouponAppliesFromItsFirstInstantToJustBeforeItsLast() {
        let issued: Int64 = 1_000_000
        let t = Self.template(.amountOff(minor: 100), validity: .daysAfterIssue(1))
        let end = issued + 86_400_000
        #expect(t.refusal(basketMinor: 100, merchantId: 1, category: .fashion, issuedAtMilliseconds: issued, nowMilliseconds: issued) == nil)
        #expect(t.refusal(basketMinor: 100, merchantId: 1, category: .fashion, issuedAtMilliseconds: issued, nowMilliseconds: end - 1) == nil)
        #expect(t.refusal(basketMinor: 100, merchantId: 1, category: .fashion, issuedAtMilliseconds: issued, nowMilliseconds: end)
            == .failedPrecondition(.couponExpired, "the coupon expired at \(end)"))
        let fixed = Self.template(.amountOff(minor: 100), validity: .fixed(startsAtMilliseconds: 5_000, endsAtMilliseconds: 9_000))
        #expect(fixed.refusal(basketMinor: 100, merchantId: 1, category: .fashion, issuedAtMilliseconds: 0, nowMilliseconds: 4_999)
            == .failedPrecondition(.couponNotYetValid, "the coupon is valid from 5000"))
        #expect(fixed.refusal(basketMinor: 100, merchantId: 1, category: .fashion, issuedAtMilliseconds: 0, nowMilliseconds: 5_000) == nil)
    }

    @Test func merchantsCategoriesAndTheMinimumSpendDecideWhereItApplies() {
        let t = Self.template(.amountOff(minor: 100), minimum: 10_000, merchants: [7, 9], categories: [.fashion])
        func refusal(_ basket: Int64, _ merchant: Int64, _ category: MerchantCategory) -> PreconditionReason? {
            if case .failedPrecondition(let reason, _) = t.refusal(basketMinor: basket, merchantId: merchant, category: category, issuedAtMilliseconds: 0, nowMilliseconds: 1) {
                return reason
            }
            return nil
        }
        #expect(refusal(10_000, 7, .fashion) == nil, "at the minimum spend exactly")
        #expect(refusal(9_999, 7, .fashion) == .couponMinimumSpend)
        #expect(refusal(10_000, 8, .fashion) == .couponNotForMerchant)
        #expect(refusal(10_000, 9, .luxury) == .couponNotForMerchant)
    }

    @Test func validationNamesTheField() {
        func field(_ t: CouponTemplate) -> String? {
            do { try t.validate() } catch { if case .invalidArgument(let field, _) = error { return field } }
            return nil
        }
        #expect(field(Self.template(.amountOff(minor: 100))) == nil)
        #expect(field(Self.template(.amountOff(minor: 0))) == "template.amount_off_minor")
        #expect(field(Self.template(.percentOff(basisPoints: 10_001, capMinor: 0))) == "template.percent_off_basis_points")
        #expect(field(Self.template(.percentOff(basisPoints: 10_000, capMinor: -1))) == "template.percent_off_cap_minor")
        #expect(field(Self.template(.freeGift(description: ""))) == "template.free_gift")
        #expect(field(Self.template(.amountOff(minor: 100), validity: .daysAfterIssue(0))) == "template.valid_days_after_issue")
        #expect(field(Self.template(.amountOff(minor: 100), validity: .daysAfterIssue(3_651))) == "template.valid_days_after_issue")
        #expect(field(Self.template(.amountOff(minor: 100), validity: .fixed(startsAtMilliseconds: 9, endsAtMilliseconds: 9))) == "template.valid_until_unix_ms")
        #expect(field(Self.template(.amountOff(minor: 100), validity: .fixed(startsAtMilliseconds: 9, endsAtMilliseconds: Limits.instantMillisecondsMax))) == nil)
        #expect(field(Self.template(.amountOff(minor: 100), validity: .fixed(startsAtMilliseconds: 9, endsAtMilliseconds: Limits.instantMillisecondsMax + 1)))
            == "template.valid_until_unix_ms")
        #expect(field(Self.template(.amountOff(minor: 100), merchants: [3, 3])) == "template.merchant_ids")
        #expect(field(Self.template(.amountOff(minor: 100), categories: [.fashion, .fashion])) == "template.categories")
        #expect(field(Self.template(.amountOff(minor: 100), share: 10_001)) == "template.mall_share_basis_points")
    }
}
