import AtriumProto
import GRPCCore

/// A mall on a server of a test's own, set up through the API for load from tills: fashion earns
/// 1 point per ¥1, one merchant with a till key, and members (10 points per ¥10 order).
struct LoadMall: Sendable {
    let hq: Api
    let till: Api
    let members: [Atrium_V1_Member]

    /// `options` for the first call, which may reach a server that is still starting.
    static func create(_ platform: Api, members count: Int, firstCall options: CallOptions = .defaults) async throws -> LoadMall {
        let mall = try await platform.platform.createMall(.with {
            $0.requestID = Unique.requestId()
            $0.code = Unique.code("load")
            $0.settings = .with { $0.name = "Load Mall"; $0.currencyCode = "CNY"; $0.timeZone = "Asia/Shanghai" }
        }, metadata: platform.metadata, options: options)
        let hq = platform.with(key: mall.headquartersKey.secret)
        _ = try await hq.hq.setCategoryRule(.with {
            $0.requestID = Unique.requestId(); $0.category = .fashion
            $0.rule = .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 100 }
        }, metadata: hq.metadata)
        let merchant = try await hq.hq.createMerchant(.with {
            $0.requestID = Unique.requestId(); $0.code = "shop"; $0.name = "Shop"; $0.category = .fashion
        }, metadata: hq.metadata).merchant
        let key = try await hq.hq.createApiKey(.with {
            $0.requestID = Unique.requestId(); $0.role = .merchant; $0.merchantID = merchant.id; $0.label = "till"
        }, metadata: hq.metadata).key.secret
        var members: [Atrium_V1_Member] = []
        for _ in 0..<count {
            members.append(try await hq.members.registerMember(.with { $0.requestID = Unique.requestId(); $0.phone = Unique.phone() }, metadata: hq.metadata).member)
        }
        return LoadMall(hq: hq, till: hq.with(key: key), members: members)
    }

    /// The members' balances added up: ten points for every order recorded.
    func totalPoints() async throws -> Int64 {
        var total: Int64 = 0
        for member in members { total += try await hq.members.getBalance(.with { $0.memberID = member.id }, metadata: hq.metadata).availablePoints }
        return total
    }
}
