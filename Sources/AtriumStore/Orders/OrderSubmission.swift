import AtriumDomain
import Foundation

/// One SubmitOrder call as the store records it.
public struct OrderSubmission: Sendable {
    public var merchantId: Int64
    public var input: OrderInput
    /// The request's fingerprint: a retry must carry the same one.
    public var requestHash: Data
    public var nowMilliseconds: Int64

    public init(merchantId: Int64, input: OrderInput, requestHash: Data, nowMilliseconds: Int64) {
        self.merchantId = merchantId
        self.input = input
        self.requestHash = requestHash
        self.nowMilliseconds = nowMilliseconds
    }

    /// Two submissions with the same key are the same order (or a conflict).
    var key: OrderKey { OrderKey(merchantId: merchantId, orderNumber: input.orderNumber) }

    var paidAtMilliseconds: Int64 { input.paidAtMilliseconds ?? nowMilliseconds }
}

struct OrderKey: Hashable, Sendable {
    var merchantId: Int64
    var orderNumber: String
}

/// What SubmitOrder answers: the recorded order, and whether an earlier call recorded it.
public struct SubmittedOrder: Sendable {
    public var order: OrderRow
    public var replayed: Bool
}

/// A concurrent transaction recorded one of a batch's order numbers first, or changed a daily
/// total the batch read (another server recording the same member: the member lock waited for
/// it, but the totals came from the lock statement's older snapshot). The batch rolls back;
/// recorded again, the order finds the other's row and replays it or conflicts, and the totals
/// are read afresh.
struct OrderRecordedConcurrently: Error {}
