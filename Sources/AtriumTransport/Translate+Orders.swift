import AtriumDomain
import AtriumProto
import AtriumStore

extension OrderInput {
    /// Validates an order from a merchant; `nowMilliseconds` bounds its paid-at time.
    static func from(_ p: Atrium_V1_OrderInput, nowMilliseconds: Int64) throws -> OrderInput {
        try Validate.requestId(p.orderNumber, field: "order.order_number")
        try Validate.text(p.storeID, field: "order.store_id", max: Limits.codeLengthMax)
        try Validate.text(p.terminalID, field: "order.terminal_id", max: Limits.codeLengthMax)
        guard p.hasMember else { throw DomainError.invalid("order.member", "is required: a member_code or a qr_token") }
        let member = try MemberKey.from(p.member, field: "order.member")
        try Validate.range(p.amountMinor, field: "order.amount_minor", 1...Limits.orderAmountMinorMax)
        try Validate.range(p.pointsPaidMinor, field: "order.points_paid_minor", 0...p.amountMinor)
        try Validate.range(p.couponPaidMinor, field: "order.coupon_paid_minor", 0...p.amountMinor)
        guard p.pointsPaidMinor + p.couponPaidMinor <= p.amountMinor else {
            throw DomainError.invalid("order.coupon_paid_minor", "points_paid_minor and coupon_paid_minor together exceed amount_minor")
        }
        guard p.lines.count <= Limits.orderLinesMax else { throw DomainError.invalid("order.lines", "at most \(Limits.orderLinesMax) lines") }
        var lines: [OrderLineRow] = []
        var linesTotal: Int64 = 0
        for (i, line) in p.lines.enumerated() {
            try Validate.text(line.sku, field: "order.lines[\(i)].sku", min: 1, max: Limits.skuLengthMax)
            try Validate.text(line.category, field: "order.lines[\(i)].category", max: Limits.codeLengthMax)
            try Validate.range(line.quantity, field: "order.lines[\(i)].quantity", 1...Limits.lineQuantityMax)
            try Validate.range(line.amountMinor, field: "order.lines[\(i)].amount_minor", 0...p.amountMinor)
            linesTotal += line.amountMinor
            lines.append(OrderLineRow(sku: line.sku, category: line.category, quantity: line.quantity, amountMinor: line.amountMinor))
        }
        if !lines.isEmpty && linesTotal != p.amountMinor {
            throw DomainError.invalid("order.lines", "line amounts sum to \(linesTotal), not amount_minor \(p.amountMinor)")
        }
        var paidAt: Int64?
        if p.paidAtUnixMs != 0 {
            guard p.paidAtUnixMs <= nowMilliseconds + Limits.orderPaidAtFutureSkewMilliseconds else {
                throw DomainError.invalid("order.paid_at_unix_ms", "is in the future")
            }
            guard p.paidAtUnixMs >= nowMilliseconds - Limits.orderPaidAtPastMilliseconds else {
                throw DomainError.invalid("order.paid_at_unix_ms", "is more than 30 days ago")
            }
            paidAt = p.paidAtUnixMs
        }
        try Validate.range(p.pointsToSpend, field: "order.points_to_spend", 0...Limits.orderPointsMax)
        try Validate.range(p.holdID, field: "order.hold_id", 0...Int64.max)
        if (p.pointsToSpend > 0 || p.holdID != 0) && p.pointsPaidMinor != 0 {
            throw DomainError.invalid("order.points_paid_minor", "must be 0 when points_to_spend or hold_id pays: the order states what the points paid")
        }
        guard p.couponCodes.count <= Limits.orderCouponsMax else { throw DomainError.invalid("order.coupon_codes", "at most \(Limits.orderCouponsMax) coupons") }
        let codes = p.couponCodes.map { $0.uppercased() }
        for (i, code) in codes.enumerated() where !CouponCode.isWellFormed(code) {
            throw DomainError.invalid("order.coupon_codes[\(i)]", "must be \(CouponCode.length) characters of Crockford base 32")
        }
        guard Set(codes).count == codes.count else { throw DomainError.invalid("order.coupon_codes", "lists a coupon twice") }
        if !codes.isEmpty && p.couponPaidMinor != 0 {
            throw DomainError.invalid("order.coupon_paid_minor", "must be 0 when coupon_codes pay: the order states what the coupons took off")
        }
        return OrderInput(
            orderNumber: p.orderNumber, storeId: p.storeID, terminalId: p.terminalID, member: member, amountMinor: p.amountMinor,
            pointsPaidMinor: p.pointsPaidMinor, couponPaidMinor: p.couponPaidMinor, lines: lines, paidAtMilliseconds: paidAt,
            pointsToSpend: p.pointsToSpend, holdId: p.holdID, couponCodes: codes)
    }
}

extension Atrium_V1_EarnBreakdown {
    init(lines: [StoredEarnLine]) {
        self.init()
        self.lines = lines.map(Atrium_V1_ExplanationLine.init)
        totalPoints = lines.reduce(0) { $0 + $1.points }
    }
}

extension Atrium_V1_Refund {
    init(_ row: RefundRow) {
        self.init()
        refundID = row.refundId
        amountMinor = row.amountMinor
        clawedBackPoints = row.clawedBackPoints
        shortfallPoints = row.shortfallPoints
        debtPoints = row.debtPoints
        expiredPoints = row.expiredPoints
        refundedAtUnixMs = row.createdAtMilliseconds
        returnedPoints = row.returnedPoints
        couponsRestored = row.couponsRestored
    }
}

extension Atrium_V1_Order {
    init(_ row: OrderRow) {
        self.init()
        id = row.id
        orderNumber = row.orderNumber
        merchantID = row.merchantId
        memberID = row.memberId
        memberCode = row.memberCode
        storeID = row.storeId
        terminalID = row.terminalId
        amountMinor = row.amountMinor
        pointsPaidMinor = row.pointsPaidMinor
        couponPaidMinor = row.couponPaidMinor
        eligibleMinor = row.eligibleMinor
        lines = row.lines.map { line in
            .with {
                $0.sku = line.sku
                $0.category = line.category
                $0.quantity = line.quantity
                $0.amountMinor = line.amountMinor
            }
        }
        paidAtUnixMs = row.paidAtMilliseconds
        breakdown = Atrium_V1_EarnBreakdown(lines: row.breakdown)
        earnedPoints = row.earnedPoints
        refundedMinor = row.refundedMinor
        clawedBackPoints = row.clawedBackPoints
        status = row.refundedMinor == 0 ? .completed : (row.refundedMinor == row.amountMinor ? .refunded : .partiallyRefunded)
        availableAtUnixMs = row.availableAtMilliseconds
        refunds = row.refunds.map(Atrium_V1_Refund.init)
        createdAtUnixMs = row.createdAtMilliseconds
        pointsSpent = row.pointsSpent
        pointsReturned = row.pointsReturned
        couponsUsed = row.coupons.map { use in
            .with {
                $0.couponID = use.couponId
                $0.code = use.code
                $0.templateID = use.templateId
                $0.discountMinor = use.discountMinor
                $0.mallShareMinor = use.mallShareMinor
                $0.freeGift = use.freeGift
            }
        }
    }
}

extension OrderTarget {
    static func from(_ target: Atrium_V1_RefundOrderRequest.OneOf_Target?) throws -> OrderTarget {
        switch target {
        case .orderNumber(let number):
            try Validate.requestId(number, field: "order_number")
            return .number(number)
        case .orderID(let id):
            try Validate.positiveId(id, field: "order_id")
            return .id(id)
        case nil:
            throw DomainError.invalid("target", "is required: order_number or order_id")
        }
    }
}
