import AtriumDomain
import Testing

/// What a refund comes to, at the edges: exactly what is left and one unit more.
@Suite("Refund scope")
struct RefundScopeTests {
    /// An order of 10,000 with 3,000 refunded: lines of 3 × 6,000 (1 refunded) and 1 × 4,000.
    static let lines = [
        RefundScope.Line(quantity: 3, amountMinor: 6_000, refundedQuantity: 1), RefundScope.Line(quantity: 1, amountMinor: 4_000, refundedQuantity: 0),
    ]

    static func apply(_ scope: RefundScope, refunded: Int64 = 3_000, lines: [RefundScope.Line] = lines) throws(DomainError) -> (Int64, [Int64]) {
        let result = try scope.apply(orderNumber: "O-1", orderAmountMinor: 10_000, refundedMinor: refunded, lines: lines)
        return (result.refundMinor, result.refundedQuantities)
    }

    @Test func aFullRefundTakesWhatIsLeftAndEveryLineWhole() throws {
        let (amount, quantities) = try Self.apply(.full)
        #expect(amount == 7_000 && quantities == [3, 1])
    }

    @Test func anAmountMayBeExactlyWhatIsLeftAndNotOneUnitMore() throws {
        #expect(try Self.apply(.amount(7_000)).0 == 7_000)
        #expect(try Self.apply(.amount(7_000)).1 == [1, 0])
        #expect(throws: DomainError.invalid("amount_minor", "exceeds the 7000 minor units not yet refunded")) { try Self.apply(.amount(7_001)) }
    }

    @Test func nothingLeftIsRefusedWhateverTheScope() {
        for scope in [RefundScope.full, .amount(1), .lines([(0, 1)])] {
            #expect(throws: DomainError.failedPrecondition(.orderFullyRefunded, "order O-1 is already fully refunded")) { try Self.apply(scope, refunded: 10_000) }
        }
    }

    /// 6,000 over three units: 2,000 each; the last unit takes what rounding left.
    @Test func linesRefundTheirShareUpToWhatIsLeftOfEach() throws {
        #expect(try Self.apply(.lines([(0, 2)])) == (4_000, [3, 0]))
        #expect(try Self.apply(.lines([(0, 1), (1, 1)])) == (6_000, [2, 1]))
        #expect(throws: DomainError.invalid("lines.lines[0].quantity", "must be between 1 and the 2 not yet refunded")) { try Self.apply(.lines([(0, 3)])) }
        #expect(throws: DomainError.invalid("lines.lines[0].quantity", "must be between 1 and the 2 not yet refunded")) { try Self.apply(.lines([(0, 0)])) }
        #expect(throws: DomainError.invalid("lines.lines[1].line_index", "is not a line of the order")) { try Self.apply(.lines([(1, 1), (2, 1)])) }
        #expect(throws: DomainError.invalid("lines.lines[0].line_index", "is not a line of the order")) { try Self.apply(.lines([(-1, 1)])) }
        #expect(throws: DomainError.invalid("lines", "the order has no lines")) { try Self.apply(.lines([(0, 1)]), lines: []) }
    }

    /// Lines may be worth more than what an amount refund left: then the refund by lines is refused.
    @Test func linesWorthMoreThanWhatIsLeftAreRefused() {
        #expect(throws: DomainError.failedPrecondition(.refundExceedsOrder, "the lines exceed the 1000 minor units not yet refunded")) {
            try Self.apply(.lines([(1, 1)]), refunded: 9_000)
        }
    }

    @Test func linesOfNoValueAreRefused() {
        let free = [RefundScope.Line(quantity: 2, amountMinor: 0, refundedQuantity: 0)]
        #expect(throws: DomainError.invalid("lines", "refund nothing of value")) { try Self.apply(.lines([(0, 1)]), lines: free) }
    }
}
