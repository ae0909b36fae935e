/// How a refund is scoped, and what it comes to: the amount it refunds and the lines' refunded
/// quantities after it. Pure: the store reads the order, this decides, the store writes.
public enum RefundScope: Sendable, Equatable {
    case full
    case amount(Int64)
    /// (line index, quantity) pairs, distinct indexes.
    case lines([(index: Int, quantity: Int64)])

    public static func == (a: RefundScope, b: RefundScope) -> Bool {
        switch (a, b) {
        case (.full, .full): true
        case (.amount(let x), .amount(let y)): x == y
        case (.lines(let x), .lines(let y)): x.map(\.index) == y.map(\.index) && x.map(\.quantity) == y.map(\.quantity)
        default: false
        }
    }
}


extension RefundScope {
    /// What of an order's line a refund by lines needs.
    public struct Line: Sendable, Equatable {
        public var quantity: Int64
        public var amountMinor: Int64
        public var refundedQuantity: Int64

        public init(quantity: Int64, amountMinor: Int64, refundedQuantity: Int64) {
            self.quantity = quantity
            self.amountMinor = amountMinor
            self.refundedQuantity = refundedQuantity
        }
    }

    /// The refund's amount and each line's refunded quantity after it, or why it is refused:
    /// nothing left to refund (FAILED_PRECONDITION), an amount past what is left, a line that is
    /// not the order's or a quantity past what is left of it (INVALID_ARGUMENT naming the field),
    /// lines worth more than what is left (FAILED_PRECONDITION). A full refund refunds what is left
    /// and every line whole; a refund by lines takes each line's amount in proportion
    /// (`RefundMath.lineRefundMinor`).
    public func apply(orderNumber: String, orderAmountMinor: Int64, refundedMinor: Int64, lines: [Line]) throws(DomainError) -> (refundMinor: Int64, refundedQuantities: [Int64]) {
        let left = orderAmountMinor - refundedMinor
        guard left > 0 else { throw .failedPrecondition(.orderFullyRefunded, "order \(orderNumber) is already fully refunded") }
        var quantities = lines.map(\.refundedQuantity)
        switch self {
        case .full:
            return (left, lines.map(\.quantity))
        case .amount(let amount):
            guard amount <= left else { throw .invalid("amount_minor", "exceeds the \(left) minor units not yet refunded") }
            return (amount, quantities)
        case .lines(let requested):
            guard !lines.isEmpty else { throw .invalid("lines", "the order has no lines") }
            var total: Int64 = 0
            for (position, item) in requested.enumerated() {
                guard item.index >= 0 && item.index < lines.count else { throw .invalid("lines.lines[\(position)].line_index", "is not a line of the order") }
                let line = lines[item.index]
                let open = line.quantity - quantities[item.index]
                guard item.quantity >= 1 && item.quantity <= open else {
                    throw .invalid("lines.lines[\(position)].quantity", "must be between 1 and the \(open) not yet refunded")
                }
                // Each line's share is at most its amount, and lines are at most 200 of at most
                // 10^12 each: the total stays far inside 64 bits.
                total += RefundMath.lineRefundMinor(
                    lineAmountMinor: line.amountMinor, lineQuantity: line.quantity, refundedQuantityBefore: quantities[item.index], refundQuantity: item.quantity)
                quantities[item.index] += item.quantity
            }
            guard total > 0 else { throw .invalid("lines", "refund nothing of value") }
            guard total <= left else { throw .failedPrecondition(.refundExceedsOrder, "the lines exceed the \(left) minor units not yet refunded") }
            return (total, quantities)
        }
    }
}
