import Testing
@testable import AtriumDomain

@Suite("Refusal reasons for machines")
struct PreconditionReasonTests {
    @Test func codesAreUpperSnakeCaseAndDistinct() {
        #expect(PreconditionReason.memberFrozen.code == "MEMBER_FROZEN")
        #expect(PreconditionReason.memberLifetimePointsLimit.code == "MEMBER_LIFETIME_POINTS_LIMIT")
        #expect(PreconditionReason.lastActivePlatformKey.code == "LAST_ACTIVE_PLATFORM_KEY")
        let codes = PreconditionReason.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        for code in codes {
            #expect(code.wholeMatch(of: /[A-Z][A-Z0-9_]+[A-Z0-9]/) != nil && code.count <= 63, "\(code)")
        }
    }

    @Test func numbersRunFromOneWithoutGaps() {
        #expect(PreconditionReason.allCases.map(\.rawValue) == Array(1...Int32(PreconditionReason.allCases.count)))
    }
}
