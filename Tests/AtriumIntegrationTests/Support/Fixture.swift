import AtriumProto
import Foundation
import GRPCCore

/// Builds malls, merchants, keys and members through the public API.
struct MallFixture: Sendable {
    let mall: Atrium_V1_Mall
    let hq: Api

    static func create(
        shortfall: Atrium_V1_RefundShortfallPolicy = .stopAtZero,
        expiry: Atrium_V1_ExpiryPolicyKind = .never, expiryParameter: Int32 = 0,
        issuePoints: Int64 = 0, issueValueMinor: Int64 = 0, breakageMallShareBasisPoints: Int32 = 0,
        pointsPaymentMaxShareBasisPoints: Int32 = 0, pointsPaymentMinimumPoints: Int64 = 0, redeemPoints: Int64 = 0, redeemValueMinor: Int64 = 0
    ) async throws -> MallFixture {
        let platform = try await Api.platformOperator()
        let requestId = Unique.requestId()
        // On Citus, writes to the platform's reference tables (malls, platform requests) go to
        // every node one at a time: a hundred tests creating malls at once wait on each other
        // past the lock limit, and retry as a client would, under the same request id.
        let response = try await retryingAborted(attempts: 40) { try await platform.platform.createMall(.with {
            $0.requestID = requestId
            $0.code = Unique.code("mall")
            $0.settings = .with {
                $0.name = "Test Mall"
                $0.currencyCode = "CNY"
                $0.timeZone = "Asia/Shanghai"
                $0.refundShortfallPolicy = shortfall
                $0.expiryPolicy = expiry
                $0.expiryParameter = expiryParameter
                $0.issuePoints = issuePoints
                $0.issueValueMinor = issueValueMinor
                $0.breakageMallShareBasisPoints = breakageMallShareBasisPoints
                $0.pointsPaymentMaxShareBasisPoints = pointsPaymentMaxShareBasisPoints
                $0.pointsPaymentMinimumPoints = pointsPaymentMinimumPoints
                $0.redeemPoints = redeemPoints
                $0.redeemValueMinor = redeemValueMinor
            }
        }, metadata: platform.metadata) }
        return MallFixture(mall: response.mall, hq: platform.with(key: response.headquartersKey.secret))
    }

    /// Two malls for isolation tests: the first with two merchants, the second with one.
    static func twoMallsWithMerchants() async throws -> (MallFixture, MallFixture) {
        let a = try await create()
        let b = try await create()
        _ = try await a.merchant()
        _ = try await a.merchant()
        _ = try await b.merchant()
        return (a, b)
    }

    /// A merchant with its own POS key.
    func merchant(category: Atrium_V1_MerchantCategory = .fashion, pendingDays: Int32 = 0) async throws -> (merchant: Atrium_V1_Merchant, api: Api) {
        let merchant = try await hq.hq.createMerchant(.with {
            $0.requestID = Unique.requestId()
            $0.code = Unique.code("shop")
            $0.name = "Shop"
            $0.category = category
            $0.pendingDays = pendingDays
        }, metadata: hq.metadata).merchant
        let key = try await hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId()
            $0.role = .merchant
            $0.merchantID = merchant.id
            $0.label = "POS"
        }, metadata: hq.metadata).key
        return (merchant, hq.with(key: key.secret))
    }

    func partnerKey() async throws -> Api {
        let partner = try await hq.hq.createPartner(.with {
            $0.requestID = Unique.requestId()
            $0.code = Unique.code("p")
            $0.name = "Cinema chain"
        }, metadata: hq.metadata).partner
        let key = try await hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId()
            $0.role = .partner
            $0.partnerID = partner.id
            $0.label = "partner"
        }, metadata: hq.metadata).key
        return hq.with(key: key.secret)
    }

    /// A key of the mall's member app.
    func memberAppKey() async throws -> Api {
        let key = try await hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId()
            $0.role = .memberApp
            $0.label = "mini-program"
        }, metadata: hq.metadata).key
        return hq.with(key: key.secret)
    }

    func member(phone: String = Unique.phone(), tier: String? = nil) async throws -> Atrium_V1_Member {
        var member = try await hq.members.registerMember(.with {
            $0.requestID = Unique.requestId()
            $0.phone = phone
            $0.name = "张三"
        }, metadata: hq.metadata).member
        if let tier {
            member = try await hq.members.setMemberTier(.with {
                $0.requestID = Unique.requestId()
                $0.memberID = member.id
                $0.tierCode = tier
            }, metadata: hq.metadata).member
        }
        return member
    }

    func setCategoryRule(_ category: Atrium_V1_MerchantCategory, pointsPerStep: Int64, stepMinor: Int64, perOrderCap: Int64 = 0, dailyCap: Int64 = 0, minimumOrder: Int64 = 0) async throws {
        _ = try await hq.hq.setCategoryRule(.with {
            $0.requestID = Unique.requestId()
            $0.category = category
            $0.rule = .with {
                $0.pointsPerStep = pointsPerStep
                $0.stepAmountMinor = stepMinor
                $0.perOrderCapPoints = perOrderCap
                $0.perMemberDailyCapPoints = dailyCap
                $0.minimumOrderMinor = minimumOrder
            }
        }, metadata: hq.metadata)
    }

    func setTier(_ code: String, rank: Int32, multiplierBasisPoints: Int32) async throws {
        _ = try await hq.hq.setTier(.with {
            $0.requestID = Unique.requestId()
            $0.tier = .with {
                $0.code = code
                $0.name = code.capitalized
                $0.rank = rank
                $0.multiplierBasisPoints = multiplierBasisPoints
            }
        }, metadata: hq.metadata)
    }

    func balance(_ memberId: Int64) async throws -> Atrium_V1_GetBalanceResponse {
        try await hq.members.getBalance(.with { $0.memberID = memberId }, metadata: hq.metadata)
    }

    /// Fails the test if the mall's ledger invariants do not hold.
    func ledgerViolations() async throws -> [String] {
        try await hq.hq.checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: hq.metadata).violations
    }
}

extension Api {
    func submit(_ number: String, member: Atrium_V1_Member, amountMinor: Int64, paidAt: Int64 = 0, pointsPaid: Int64 = 0, couponPaid: Int64 = 0, lines: [Atrium_V1_OrderLine] = []) async throws -> Atrium_V1_SubmitOrderResponse {
        try await merchant.submitOrder(.with {
            $0.order = .with {
                $0.orderNumber = number
                $0.member = .with { $0.memberCode = member.memberCode }
                $0.amountMinor = amountMinor
                $0.paidAtUnixMs = paidAt
                $0.pointsPaidMinor = pointsPaid
                $0.couponPaidMinor = couponPaid
                $0.lines = lines
            }
        }, metadata: metadata)
    }

    func refund(_ refundId: String, orderNumber: String, amountMinor: Int64? = nil) async throws -> Atrium_V1_RefundOrderResponse {
        try await merchant.refundOrder(.with {
            $0.refundID = refundId
            $0.orderNumber = orderNumber
            if let amountMinor { $0.amountMinor = amountMinor } else { $0.full = true }
        }, metadata: metadata)
    }
}
