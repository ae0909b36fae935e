/// Overflow-safe integer helpers for points and money.
public enum Arithmetic {
    /// floor(a × b / c) for non-negative a, b and positive c, exact in 128-bit; saturates at Int64.max.
    @inlinable
    public static func multiplyDivide(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
        precondition(a >= 0 && b >= 0 && c > 0)
        let product = a.multipliedFullWidth(by: b)
        let high = UInt64(bitPattern: product.high), low = product.low
        // (high·2^64 + low) / c must fit: otherwise saturate.
        if high >= UInt64(c) { return .max }
        let (quotient, _) = UInt64(c).dividingFullWidth((high, low))
        return quotient > UInt64(Int64.max) ? .max : Int64(quotient)
    }

    @inlinable
    public static func addSaturating(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    /// a + b, or an error where a sum of money or points would not fit in 64 bits: totals a
    /// settlement adds up come from stored data, so they fail the call instead of trapping.
    public static func add(_ a: Int64, _ b: Int64) throws(DomainError) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .failedPrecondition(.totalOutOfRange, "a total exceeds 64 bits") }
        return sum
    }
}
