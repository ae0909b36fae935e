/// A coupon's state as a member or a till sees it at an instant: issued and used are stored;
/// not yet valid and expired are read from its window, so no sweep has to run.
public enum CouponStatus: Int16, Sendable {
    case valid = 1
    case used = 2
    case expired = 3
    case notYetValid = 4

    /// What a coupon stored as `used` or not is at `nowMilliseconds`: it expires at its last
    /// instant exactly, as lots do.
    public static func at(used: Bool, fromMilliseconds: Int64, untilMilliseconds: Int64, nowMilliseconds: Int64) -> CouponStatus {
        if used { return .used }
        if nowMilliseconds >= untilMilliseconds { return .expired }
        if nowMilliseconds < fromMilliseconds { return .notYetValid }
        return .valid
    }
}

/// Coupon codes: 80 random bits in 16 characters of Crockford's base 32 (digits and letters but
/// I, L, O and U), short enough to type from a receipt and to print as a barcode, too many to
/// guess: a till trying a million codes a second would find one of a million live coupons once
/// in about 38 years.
public enum CouponCode {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    public static let length = 16

    /// A fresh code from `generator`, which must be a cryptographic one in production
    /// (`SystemRandomNumberGenerator`).
    public static func make(using generator: inout some RandomNumberGenerator) -> String {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        // 80 bits: 64 of `high` and 16 of `low`, five at a time.
        var bits = (UInt128(high) << 16) | UInt128(low & 0xFFFF)
        var characters: [Character] = []
        for _ in 0..<length {
            characters.append(alphabet[Int(bits & 0x1F)])
            bits >>= 5
        }
        return String(characters)
    }

    /// Whether `code` could be a code at all: read as typed, in upper case.
    public static func isWellFormed(_ code: String) -> Bool {
        code.count == length && code.allSatisfy { alphabet.contains($0) }
    }
}

/// Whether HQ may issue a template's coupons to members: the template's total quantity and its
/// per-member limit hold for the whole request, or nothing is issued.
public enum CouponIssuance {
    /// `heldByMember`: coupons of the template each requested member was issued before (used or
    /// not); `issuedCount`: the template's coupons issued so far. A member listed n times gets n.
    public static func admit(template: CouponTemplate, issuedCount: Int64, memberIds: [Int64], heldByMember: [Int64: Int64]) throws(DomainError) {
        let requested = Int64(memberIds.count)
        var asked: [Int64: Int64] = [:]
        for memberId in memberIds { asked[memberId, default: 0] += 1 }
        if template.totalQuantity > 0 && issuedCount + requested > template.totalQuantity {
            throw .failedPrecondition(
                .couponQuantityExhausted, "template \(template.id) has \(max(0, template.totalQuantity - issuedCount)) coupons left, not \(requested)")
        }
        for memberId in memberIds where heldByMember[memberId, default: 0] + asked[memberId, default: 0] > Int64(template.perMemberLimit) {
            throw .failedPrecondition(.couponMemberLimit, "member \(memberId) already holds \(template.perMemberLimit) coupons of template \(template.id)")
        }
    }
}

/// A coupon an order used: what it took off the bill, and the part of that the mall pays the
/// merchant back (`CouponTemplate.mallShareMinor`).
public struct CouponUse: Codable, Sendable, Equatable {
    public var couponId: Int64
    public var code: String
    public var templateId: Int64
    public var discountMinor: Int64
    public var mallShareMinor: Int64
    public var freeGift: String

    public init(couponId: Int64, code: String, templateId: Int64, discountMinor: Int64, mallShareMinor: Int64, freeGift: String) {
        precondition(discountMinor >= 0 && (0...discountMinor).contains(mallShareMinor))
        self.couponId = couponId
        self.code = code
        self.templateId = templateId
        self.discountMinor = discountMinor
        self.mallShareMinor = mallShareMinor
        self.freeGift = freeGift
    }

    /// The coupons of one order in the order given, each on what the ones before it left of the
    /// bill: the first refusal refuses them all. `coupons` are `(id, member, used, issued at,
    /// hold, template)` of each code as read under the member's lock; a code that is unknown or
    /// another member's is NOT_FOUND, as it would be for a till that guessed it. A coupon another
    /// till holds is refused until the hold ends; the member app's hold lets any till use it.
    public static func plan(
        codes: [String], coupons: [String: (id: Int64, memberId: Int64, used: Bool, issuedAtMilliseconds: Int64, hold: CouponHold?, template: CouponTemplate)],
        memberId: Int64, billMinor: Int64, merchantId: Int64, category: MerchantCategory, atMilliseconds now: Int64
    ) throws(DomainError) -> [CouponUse] {
        var left = billMinor
        var uses: [CouponUse] = []
        for code in codes {
            guard let coupon = coupons[code], coupon.memberId == memberId else { throw .notFound("coupon \(code)") }
            guard !coupon.used else { throw .failedPrecondition(.couponUsed, "coupon \(code) was used") }
            if let hold = coupon.hold, hold.untilMilliseconds > now, let holder = hold.merchantId, holder != merchantId {
                throw .failedPrecondition(.couponHeld, "coupon \(code) is held by another till until \(hold.untilMilliseconds)")
            }
            if let refusal = coupon.template.refusal(
                basketMinor: left, merchantId: merchantId, category: category, issuedAtMilliseconds: coupon.issuedAtMilliseconds, nowMilliseconds: now)
            {
                throw refusal
            }
            let discount = coupon.template.discountMinor(basketMinor: left)
            left -= discount
            var gift = ""
            if case .freeGift(let description) = coupon.template.benefit { gift = description }
            uses.append(CouponUse(
                couponId: coupon.id, code: code, templateId: coupon.template.id, discountMinor: discount,
                mallShareMinor: coupon.template.mallShareMinor(ofDiscountMinor: discount), freeGift: gift))
        }
        precondition(left >= 0, "coupons never take off more than the bill")
        return uses
    }
}

/// A coupon reserved for a payment to come, until an instant (`CouponStore.holdCoupon`).
public struct CouponHold: Sendable, Equatable {
    public var untilMilliseconds: Int64
    /// The till that holds it; nil: the member app.
    public var merchantId: Int64?

    public init(untilMilliseconds: Int64, merchantId: Int64?) {
        self.untilMilliseconds = untilMilliseconds
        self.merchantId = merchantId
    }
}

