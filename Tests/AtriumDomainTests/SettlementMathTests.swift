import AtriumDomain
import Testing

@Suite("Settlement: valuation, netting and CSV")
struct SettlementMathTests {
    /// 3 points are worth 1 fen: thirds round half away from zero.
    let thirds = PointValuation(issuePoints: 3, issueValueMinor: 1, breakageMallShareBasisPoints: 0, redeemPoints: 100, redeemValueMinor: 100)

    @Test func valuesRoundHalfAwayFromZeroInBothDirections() throws {
        #expect(try thirds.amountMinor(points: -1, kind: .earn) == 0)
        #expect(try thirds.amountMinor(points: -2, kind: .earn) == -1)
        #expect(try thirds.amountMinor(points: 2, kind: .refund) == 1)
        #expect(try thirds.amountMinor(points: -3_000, kind: .earn) == -1_000)
        let half = PointValuation(issuePoints: 2, issueValueMinor: 1, breakageMallShareBasisPoints: 0, redeemPoints: 100, redeemValueMinor: 100)
        #expect(try half.amountMinor(points: 1, kind: .refund) == 1)
        #expect(try half.amountMinor(points: -1, kind: .earn) == -1)
        #expect(try half.amountMinor(points: 0, kind: .earn) == 0)
    }

    @Test func expiredPointsAreOwedBackLessTheMallsShareOfBreakage() throws {
        let value = PointValuation(issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 2_000, redeemPoints: 100, redeemValueMinor: 100)
        #expect(try value.amountMinor(points: 100, kind: .expire) == 40)
        #expect(try value.amountMinor(points: 100, kind: .refund) == 50)
        let kept = PointValuation(issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 10_000, redeemPoints: 100, redeemValueMinor: 100)
        #expect(try kept.amountMinor(points: 1_000_000, kind: .expire) == 0)
    }

    @Test func aValueBeyondSixtyFourBitsFailsInsteadOfWrapping() {
        let dear = PointValuation(issuePoints: 1, issueValueMinor: 1_000_000, breakageMallShareBasisPoints: 0, redeemPoints: 100, redeemValueMinor: 100)
        #expect(throws: DomainError.self) { try dear.amountMinor(points: .min, kind: .earn) }
        #expect(throws: DomainError.self) { try dear.amountMinor(points: Int64.max / 2, kind: .refund) }
    }

    @Test func eachPartyNetsAgainstTheMallAndNetsSumToZero() throws {
        let value = PointValuation(issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 2_000, redeemPoints: 100, redeemValueMinor: 100)
        let statements = try Settlement.statements(totals: [
            ClearingTotal(party: .merchant(9), kind: .refund, entries: 1, points: 30),
            ClearingTotal(party: .merchant(7), kind: .earn, entries: 2, points: -150),
            ClearingTotal(party: .merchant(7), kind: .expire, entries: 1, points: 100),
            ClearingTotal(party: .merchant(9), kind: .earn, entries: 1, points: -70),
            ClearingTotal(party: .partner(3), kind: .earn, entries: 4, points: -1),
        ], valuation: value)
        #expect(statements.map(\.party) == [.mall, .merchant(7), .merchant(9), .partner(3)])
        #expect(statements[1].lines == [
            StatementLine(kind: .earn, entries: 2, points: -150, amountMinor: -75),
            StatementLine(kind: .expire, entries: 1, points: 100, amountMinor: 40),
        ])
        #expect(statements.map(\.netMinor) == [56, -35, -20, -1])
        #expect(statements[0].lines == [
            StatementLine(kind: .earn, entries: 7, points: 221, amountMinor: 111),
            StatementLine(kind: .refund, entries: 1, points: -30, amountMinor: -15),
            StatementLine(kind: .expire, entries: 1, points: -100, amountMinor: -40),
        ])
    }

    /// Rounding each party's line apart could leave the mall's recomputed total a fen off: the
    /// mall's lines are the sum of the rounded values instead.
    @Test(arguments: [1, 2, 5, 50, 333] as [Int64])
    func roundedLinesStillNetToZero(parties: Int64) throws {
        let totals = (1...parties).map { ClearingTotal(party: .merchant($0), kind: .earn, entries: 1, points: -1) }
        let statements = try Settlement.statements(totals: totals, valuation: thirds)
        #expect(statements.reduce(0) { $0 + $1.netMinor } == 0)
        #expect(statements.count == Int(parties) + 1)
    }

    @Test func noEntriesMakeNoStatements() throws {
        #expect(try Settlement.statements(totals: [], valuation: thirds) == [])
    }

    @Test func csvHasARowPerLineAndANetRowPerStatement() throws {
        let statements = try Settlement.statements(totals: [ClearingTotal(party: .merchant(7), kind: .earn, entries: 2, points: -150)],
                                                   valuation: PointValuation(issuePoints: 100, issueValueMinor: 50, breakageMallShareBasisPoints: 0, redeemPoints: 100, redeemValueMinor: 100))
        let csv = StatementCSV.render(periodId: 4, startsAtMilliseconds: 0, endsAtMilliseconds: 1_795_392_000_123, currencyCode: "CNY", statements: statements)
        let prefix = "4,1970-01-01T00:00:00.000Z,2026-11-23T00:00:00.123Z,CNY"
        #expect(csv == [
            StatementCSV.header,
            "\(prefix),mall,0,issued,2,150,75",
            "\(prefix),mall,0,net,,,75",
            "\(prefix),merchant,7,issued,2,-150,-75",
            "\(prefix),merchant,7,net,,,-75",
        ].joined(separator: "\r\n") + "\r\n")
    }

    @Test func instantsBeforeTheEpochFormatToo() {
        #expect(StatementCSV.iso8601(-1) == "1969-12-31T23:59:59.999Z")
        #expect(StatementCSV.iso8601(86_400_000 * 366 + 3_723_004) == "1971-01-02T01:02:03.004Z")
    }
}
