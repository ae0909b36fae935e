import AtriumDomain
import AtriumProto
import AtriumStore
import GRPCCore
import SwiftProtobuf

/// A merchant's tills and assistant apps. The merchant is always the credential's own.
public struct MerchantServiceHandler: Atrium_V1_MerchantService.SimpleServiceProtocol {
    let orders: OrderStore
    let settlement: SettlementStore
    let coupons: CouponStore
    let rewards: RewardStore
    let now: @Sendable () -> Int64

    public init(orders: OrderStore, settlement: SettlementStore, coupons: CouponStore, rewards: RewardStore, now: @escaping @Sendable () -> Int64) {
        self.orders = orders
        self.settlement = settlement
        self.coupons = coupons
        self.rewards = rewards
        self.now = now
    }

    public func fulfilRedemption(request: Atrium_V1_FulfilRedemptionRequest, context: ServerContext) async throws -> Atrium_V1_FulfilRedemptionResponse {
        let (caller, merchantId) = try Self.merchant()
        let code = request.pickupCode.uppercased()
        guard CouponCode.isWellFormed(code) else { throw DomainError.invalid("pickup_code", "must be \(CouponCode.length) characters of Crockford base 32") }
        let (row, replayed) = try await rewards.fulfil(mallId: caller.mallId, merchantId: merchantId, pickupCode: code)
        return .with {
            $0.redemption = Atrium_V1_Redemption(row)
            $0.replayed = replayed
        }
    }

    public func validateCoupon(request: Atrium_V1_ValidateCouponRequest, context: ServerContext) async throws -> Atrium_V1_ValidateCouponResponse {
        let (caller, merchantId) = try Self.merchant()
        let code = request.code.uppercased()
        guard CouponCode.isWellFormed(code) else { throw DomainError.invalid("code", "must be \(CouponCode.length) characters of Crockford base 32") }
        try Validate.range(request.basketMinor, field: "basket_minor", 1...Limits.orderAmountMinorMax)
        let at = now()
        guard let check = try await coupons.check(mallId: caller.mallId, code: code, merchantId: merchantId, basketMinor: request.basketMinor, nowMilliseconds: at) else {
            throw DomainError.notFound("coupon")
        }
        return .with {
            $0.coupon = Atrium_V1_Coupon(check.coupon, atMilliseconds: at)
            $0.applies = check.refusal == nil
            $0.discountMinor = check.discountMinor
            $0.mallShareMinor = check.mallShareMinor
            if case .freeGift(let gift) = check.template.benefit, check.refusal == nil { $0.freeGift = gift }
            if case .failedPrecondition(let reason, let message)? = check.refusal {
                $0.reason = Atrium_V1_PreconditionReason(rawValue: Int(reason.rawValue)) ?? .unspecified
                $0.message = message
            }
        }
    }

    public func quoteOrder(request: Atrium_V1_QuoteOrderRequest, context: ServerContext) async throws -> Atrium_V1_QuoteOrderResponse {
        let (caller, merchantId) = try Self.merchant()
        let at = now()
        guard request.hasOrder else { throw DomainError.invalid("order", "is required") }
        let input = try OrderInput.from(request.order, nowMilliseconds: at)
        let quote = try await orders.quote(mallId: caller.mallId, merchantId: merchantId, input: input, nowMilliseconds: at)
        return .with {
            $0.breakdown = Atrium_V1_EarnBreakdown(lines: quote.breakdown.lines.map(StoredEarnLine.init))
            $0.memberID = quote.memberId
            $0.tierCode = quote.tierCode
        }
    }

    public func submitOrder(request: Atrium_V1_SubmitOrderRequest, context: ServerContext) async throws -> Atrium_V1_SubmitOrderResponse {
        let (caller, merchantId) = try Self.merchant()
        let at = now()
        guard request.hasOrder else { throw DomainError.invalid("order", "is required") }
        let input = try OrderInput.from(request.order, nowMilliseconds: at)
        let hash = Hashing.sha256(try request.serializedBytes() as [UInt8])
        let (order, replayed) = try await orders.submit(mallId: caller.mallId, merchantId: merchantId, input: input, requestHash: hash, nowMilliseconds: at)
        return .with {
            $0.order = Atrium_V1_Order(order)
            $0.replayed = replayed
        }
    }

    public func refundOrder(request: Atrium_V1_RefundOrderRequest, context: ServerContext) async throws -> Atrium_V1_RefundOrderResponse {
        let (caller, merchantId) = try Self.merchant()
        try Validate.requestId(request.refundID, field: "refund_id")
        let target = try OrderTarget.from(request.target)
        let scope: RefundScope
        switch request.scope {
        case .full(true): scope = .full
        case .full(false): throw DomainError.invalid("full", "must be true when set")
        case .amountMinor(let amount):
            try Validate.range(amount, field: "amount_minor", 1...Limits.orderAmountMinorMax)
            scope = .amount(amount)
        case .lines(let lines):
            guard !lines.lines.isEmpty, lines.lines.count <= Limits.orderLinesMax else {
                throw DomainError.invalid("lines.lines", "must list 1 to \(Limits.orderLinesMax) lines")
            }
            guard Set(lines.lines.map(\.lineIndex)).count == lines.lines.count else { throw DomainError.invalid("lines.lines", "lists a line twice") }
            scope = .lines(lines.lines.map { (Int($0.lineIndex), $0.quantity) })
        case nil:
            throw DomainError.invalid("scope", "is required: full, amount_minor or lines")
        }
        let hash = Hashing.sha256(try request.serializedBytes() as [UInt8])
        let (order, refund, replayed) = try await orders.refund(mallId: caller.mallId, merchantId: merchantId, target: target, refundId: request.refundID, scope: scope, requestHash: hash)
        return .with {
            $0.order = Atrium_V1_Order(order)
            $0.refund = Atrium_V1_Refund(refund)
            $0.replayed = replayed
        }
    }

    public func getOrder(request: Atrium_V1_GetOrderRequest, context: ServerContext) async throws -> Atrium_V1_GetOrderResponse {
        let (caller, merchantId) = try Self.merchant()
        let target: OrderTarget
        switch request.target {
        case .orderNumber(let number):
            try Validate.requestId(number, field: "order_number")
            target = .number(number)
        case .orderID(let id):
            try Validate.positiveId(id, field: "order_id")
            target = .id(id)
        case nil:
            throw DomainError.invalid("target", "is required: order_number or order_id")
        }
        guard let order = try await orders.order(mallId: caller.mallId, merchantId: merchantId, target: target) else { throw DomainError.notFound("order") }
        return .with { $0.order = Atrium_V1_Order(order) }
    }

    public func listOrders(request: Atrium_V1_ListOrdersRequest, context: ServerContext) async throws -> Atrium_V1_ListOrdersResponse {
        let (caller, merchantId) = try Self.merchant()
        let limit = try Validate.pageSize(request.pageSize)
        guard request.memberID >= 0 else { throw DomainError.invalid("member_id", "must not be negative") }
        let rows = try await orders.listOrders(
            mallId: caller.mallId, merchantId: merchantId, memberId: request.memberID == 0 ? nil : request.memberID,
            beforeId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.orders = rows.map(Atrium_V1_Order.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    /// Only the caller's own statements: the credential decides the party.
    public func listMyStatements(request: Atrium_V1_ListMyStatementsRequest, context: ServerContext) async throws -> Atrium_V1_ListMyStatementsResponse {
        let (caller, merchantId) = try Self.merchant()
        let limit = try Validate.pageSize(request.pageSize)
        guard request.periodID >= 0 else { throw DomainError.invalid("period_id", "must not be negative") }
        let rows = try await settlement.statements(
            mallId: caller.mallId, periodId: request.periodID, party: .merchant(merchantId), afterId: try PageToken.decode(request.pageToken), limit: limit)
        return .with {
            $0.statements = rows.map(Atrium_V1_Statement.init)
            $0.nextPageToken = PageToken.next(ids: rows.map(\.id), pageSize: limit)
        }
    }

    static func merchant() throws -> (Principal, Int64) {
        let caller = try Caller.require(.merchant)
        guard let merchantId = caller.merchantId else { throw DomainError.permissionDenied("credential is not bound to a merchant") }
        return (caller, merchantId)
    }
}
