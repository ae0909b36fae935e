/// What points are worth in money when a period is settled: every clearing entry is a funder's
/// posting in points, valued at the mall's issuance value (`issueValueMinor` for `issuePoints`).
/// Expired points go back to their funder less the mall's share of the breakage. Points paid at a
/// checkout, and their return by a refund, are valued at what they paid (`redeemValueMinor` for
/// `redeemPoints`).
public struct PointValuation: Sendable, Equatable {
    public var issuePoints: Int64
    public var issueValueMinor: Int64
    public var redeemPoints: Int64
    public var redeemValueMinor: Int64
    /// The part of expired points' value the mall keeps, in basis points (0 = all to the funder).
    public var breakageMallShareBasisPoints: Int32

    public init(issuePoints: Int64, issueValueMinor: Int64, breakageMallShareBasisPoints: Int32, redeemPoints: Int64, redeemValueMinor: Int64) {
        precondition(issuePoints > 0 && issueValueMinor > 0 && redeemPoints > 0 && redeemValueMinor > 0)
        self.redeemPoints = redeemPoints
        self.redeemValueMinor = redeemValueMinor
        precondition((0...10_000).contains(breakageMallShareBasisPoints))
        self.issuePoints = issuePoints
        self.issueValueMinor = issueValueMinor
        self.breakageMallShareBasisPoints = breakageMallShareBasisPoints
    }

    /// The money a party receives (negative: pays) for `points` posted to its funder account by
    /// journals of `kind`, rounded half away from zero. A funder account goes down when the funder
    /// issues points, so issuing pays and a clawback or expiry receives.
    public func amountMinor(points: Int64, kind: JournalKind) throws(DomainError) -> Int64 {
        let keptBasisPoints = kind == .expire ? Int128(10_000 - breakageMallShareBasisPoints) : 10_000
        let redeemed = kind == .spend || kind == .spendReturn
        let numerator = Int128(points) * Int128(redeemed ? redeemValueMinor : issueValueMinor) * keptBasisPoints
        let denominator = Int128(redeemed ? redeemPoints : issuePoints) * 10_000
        let magnitude = (numerator.magnitude + UInt128(denominator) / 2) / UInt128(denominator)
        guard let amount = Int64(exactly: magnitude) else { throw .failedPrecondition(.totalOutOfRange, "a settlement amount exceeds 64 bits") }
        return numerator < 0 ? -amount : amount
    }
}
