import AtriumDomain
import Testing

@Suite("Earning admission")
struct EarningAdmissionTests {
    @Test func aSuspendedMerchantComesBeforeAFrozenMember() {
        #expect(EarningAdmission.admit(merchantId: 7, merchantActive: true, memberCode: "C1", memberFrozen: false) == nil)
        #expect(EarningAdmission.admit(merchantId: 7, merchantActive: false, memberCode: "C1", memberFrozen: true) == .failedPrecondition(.merchantSuspended, "merchant 7 is suspended"))
        #expect(EarningAdmission.admit(merchantId: 7, merchantActive: true, memberCode: "C1", memberFrozen: true) == .failedPrecondition(.memberFrozen, "member C1 is frozen"))
    }

    @Test func anOrderMayEarnExactlyTheOrderLimit() {
        #expect(EarningAdmission.admit(points: Limits.orderPointsMax, lifetimeEarnedPoints: 0, memberCode: "C1") == nil)
        #expect(EarningAdmission.admit(points: Limits.orderPointsMax + 1, lifetimeEarnedPoints: 0, memberCode: "C1")
            == .invalid("order.amount_minor", "earns more than the 1000000000 points one order may earn (Limits.orderPointsMax)"))
        #expect(EarningAdmission.admit(points: .max, lifetimeEarnedPoints: .max, memberCode: "C1") != nil, "no overflow trap at the extremes")
        #expect(EarningAdmission.admit(points: 1, lifetimeEarnedPoints: .max, memberCode: "C1") != nil, "a stored total past the limit is refused, not trapped")
    }

    @Test func aMemberMayReachTheLifetimeLimitExactly() {
        let nearly = Limits.memberLifetimePointsMax - 10
        #expect(EarningAdmission.admit(points: 10, lifetimeEarnedPoints: nearly, memberCode: "C1") == nil)
        #expect(EarningAdmission.admit(points: 11, lifetimeEarnedPoints: nearly, memberCode: "C1")
            == .failedPrecondition(.memberLifetimePointsLimit, "member C1 would pass the 1000000000000000 points a member may earn"))
        #expect(EarningAdmission.admit(points: 0, lifetimeEarnedPoints: Limits.memberLifetimePointsMax, memberCode: "C1") == nil)
    }
}
