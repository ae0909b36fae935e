/// Points reserved for a payment to come (a till's or the member app's hold), two-phase as a
/// pending transfer: held, then captured by the payment, or released by the holder or by its
/// timeout. A held hold's points are not spendable by anyone else until it ends.
public enum PointHoldStatus: Int16, Sendable {
    case held = 1
    case captured = 2
    case released = 3
    /// Held, and its time ran out: released by the timeout. Never stored; read from `held` and
    /// the expiry instant.
    case expired = 4

    /// What a stored status means at `nowMilliseconds`: a hold expires at its expiry instant exactly.
    public static func at(_ stored: PointHoldStatus, expiresAtMilliseconds: Int64, nowMilliseconds: Int64) -> PointHoldStatus {
        stored == .held && expiresAtMilliseconds <= nowMilliseconds ? .expired : stored
    }
}
