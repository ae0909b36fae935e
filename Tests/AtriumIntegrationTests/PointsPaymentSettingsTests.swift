import AtriumProto
import GRPCCore
import Testing

/// A mall's rules for points as payment (spending itself comes with the spending issue).
@Suite("Points payment settings")
struct PointsPaymentSettingsTests {
    @Test func aMallKeepsItsShareAndMinimumAndDefaultsToNoPointsPayment() async throws {
        let platform = try await Api.platformOperator()
        let paying = try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 5_000, pointsPaymentMinimumPoints: 500)
        let read = try await platform.platform.getMall(.with { $0.mallID = paying.mall.id }, metadata: platform.metadata).mall.settings
        #expect(read.pointsPaymentMaxShareBasisPoints == 5_000 && read.pointsPaymentMinimumPoints == 500)
        #expect(read.redeemPoints == 100 && read.redeemValueMinor == 100, "steps of the mall's point value")
        let plain = try await MallFixture.create()
        let defaults = try await platform.platform.getMall(.with { $0.mallID = plain.mall.id }, metadata: platform.metadata).mall.settings
        #expect(defaults.pointsPaymentMaxShareBasisPoints == 0 && defaults.pointsPaymentMinimumPoints == 0)
    }

    @Test func theShareStaysWithinZeroAndTenThousandAndTheMinimumInWholeSteps() async throws {
        await expectStatus(.invalidArgument, mentioning: "settings.points_payment_max_share_basis_points") {
            try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 10_001)
        }
        await expectStatus(.invalidArgument, mentioning: "settings.points_payment_max_share_basis_points") {
            try await MallFixture.create(pointsPaymentMaxShareBasisPoints: -1)
        }
        await expectStatus(.invalidArgument, mentioning: "settings.points_payment_minimum_points") {
            try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 5_000, pointsPaymentMinimumPoints: 250)
        }
        await expectStatus(.invalidArgument, mentioning: "settings.points_payment_minimum_points") {
            try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 5_000, pointsPaymentMinimumPoints: -100)
        }
        let edge = try await MallFixture.create(pointsPaymentMaxShareBasisPoints: 10_000, pointsPaymentMinimumPoints: 100)
        #expect(edge.mall.settings.pointsPaymentMaxShareBasisPoints == 10_000 && edge.mall.settings.pointsPaymentMinimumPoints == 100)
    }
}
