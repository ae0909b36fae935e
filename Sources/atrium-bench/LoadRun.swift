import ArgumentParser
import AtriumProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Histogram
import NIOCore
import Synchronization

/// Setup (a mall, merchants with rules, tiers and a campaign, members) and the timed load phase.
struct LoadRun {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    let host: String
    let port: Int
    let platformKey: String
    let scenario: Bench.Scenario
    let loadClient: Bench.Client
    let memberCount: Int
    let merchantCount: Int
    /// Malls the members and merchants spread over (at least one merchant each).
    let mallCount: Int
    let concurrency: Int
    /// HTTP/2 connections the load spreads over: tills do not share one connection.
    let connections: Int
    let durationSeconds: Int
    let warmupSeconds: Int
    let serverPid: Int32?
    /// A shell command run between the setup and the load (see `Bench.afterSetup`).
    let afterSetup: String?

    struct Fixture: Sendable {
        struct Mall: Sendable {
            var mallId: Int64
            var hq: Metadata
            var memberCodes: [String]
            var memberIds: [Int64]
            /// The members who pay with points and coupons (`checkout`); nil otherwise.
            var checkout: CheckoutPool?
        }

        /// A merchant's `authorization` value and its mall's index in `malls`.
        struct Till: Sendable {
            var authorization: String
            var mall: Int
        }

        var malls: [Mall]
        var tills: [Till]
        /// The first mall: the one expiry and settle work on.
        var mallId: Int64 { malls[0].mallId }
        var hq: Metadata { malls[0].hq }
    }

    func run() async throws -> Report {
        let clients = try (0..<connections).map { _ in
            try Client(transport: .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: .plaintext))
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.runConnections() } }
            defer { for client in clients { client.beginGracefulShutdown() } }
            return try await measure(clients)
        }
    }

    private func measure(_ clients: [Client]) async throws -> Report {
        let client = clients[0]
        let setupStarted = ContinuousClock.now
        let fixture = try await setUp(client)
        let setup = ContinuousClock.now - setupStarted
        if let afterSetup { try Self.runShell(afterSetup, mallId: fixture.mallId) }
        if scenario == .expiry { return try await measureExpiry(client, fixture, setup: setup) }
        if scenario == .settle { return try await measureSettle(client, fixture, setup: setup) }
        _ = try await load(clients, fixture, seconds: warmupSeconds, worker: "w")
        let before = serverPid.flatMap(ProcessSample.read)
        let started = ContinuousClock.now
        let stats = try await load(clients, fixture, seconds: durationSeconds, worker: "m")
        let elapsed = (ContinuousClock.now - started).seconds
        let after = serverPid.flatMap(ProcessSample.read)
        var violations: [String] = []
        for mall in fixture.malls {
            violations += try await Atrium_V1_HeadquartersService.Client(wrapping: client).checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: mall.hq).violations
        }
        let cpu = Self.cpuPercent(before, after, elapsed: elapsed)
        return Report(
            scenario: mallCount == 1 ? scenario.rawValue : "\(scenario.rawValue) over \(mallCount) malls", client: loadClient.rawValue, cores: ProcessInfo.processInfo.activeProcessorCount, concurrency: concurrency,
            durationSeconds: elapsed, calls: Int(stats.histogram.totalCount), callsPerSecond: Double(stats.histogram.totalCount) / elapsed,
            submitOrdersPerSecond: Double(stats.submits) / elapsed, latencyMicroseconds: Report.latencies(stats.histogram),
            callsByKind: stats.byCall.reduce(into: [:]) { $0[$1.key.rawValue] = Int($1.value.totalCount) },
            latencyByKindMicroseconds: stats.byCall.reduce(into: [:]) { $0[$1.key.rawValue] = Report.latencies($1.value) },
            errorsByStatus: stats.errors, serverPeakRSSMegabytes: after.map { Double($0.peakRSSKilobytes) / 1024 }, serverCPUPercent: cpu,
            setupSeconds: setup.seconds, ledgerViolations: violations, evaluationsPerSecond: nil)
    }

    /// Calls ExpirePoints until nothing is due: the lots the after-setup command seeded, all
    /// already expired, expire in batches of members (see `ExpiryStore`).
    private func measureExpiry(_ client: Client, _ fixture: Fixture, setup: Duration) async throws -> Report {
        let headquarters = Atrium_V1_HeadquartersService.Client(wrapping: client)
        var lots: Int64 = 0, points: Int64 = 0
        var report = try await timeJob(client, fixture, setup: setup) {
            var calls = 0, more = true
            while more {
                let response = try await headquarters.expirePoints(Atrium_V1_ExpirePointsRequest(), metadata: fixture.hq)
                calls += 1
                lots += response.lotsExpired
                points += response.pointsExpired
                more = response.moreDue
            }
            return calls
        }
        report.lotsExpired = lots
        report.pointsExpired = points
        return report
    }

    /// Closes one settlement period over everything recorded since the mall was created: the
    /// clearing entries the after-setup command seeded. Retries while the close answers
    /// UNAVAILABLE (a transaction begun before the end still runs), counting the wait in.
    private func measureSettle(_ client: Client, _ fixture: Fixture, setup: Duration) async throws -> Report {
        let headquarters = Atrium_V1_HeadquartersService.Client(wrapping: client)
        let end = Int64(Date().timeIntervalSince1970 * 1000)
        var closed = Atrium_V1_SettlementPeriod()
        var report = try await timeJob(client, fixture, setup: setup) {
            for calls in 1... {
                do {
                    closed = try await headquarters.closeSettlementPeriod(.with { $0.periodEndUnixMs = end }, metadata: fixture.hq).period
                    return calls
                } catch let error as RPCError where error.code == .unavailable && calls < 100 {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            preconditionFailure("unreachable")
        }
        report.entriesSettled = closed.entries
        report.statements = Int(closed.statements)
        return report
    }

    /// Times one batch job of HQ's (`job` returns how many calls it made), samples the server
    /// around it and checks the ledger after it.
    private func timeJob(_ client: Client, _ fixture: Fixture, setup: Duration, _ job: () async throws -> Int) async throws -> Report {
        let before = serverPid.flatMap(ProcessSample.read)
        let started = ContinuousClock.now
        let calls = try await job()
        let elapsed = (ContinuousClock.now - started).seconds
        let after = serverPid.flatMap(ProcessSample.read)
        let violations = try await Atrium_V1_HeadquartersService.Client(wrapping: client).checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: fixture.hq).violations
        return Report(
            scenario: scenario.rawValue, client: "grpc-swift", cores: ProcessInfo.processInfo.activeProcessorCount, concurrency: 1,
            durationSeconds: elapsed, calls: calls, callsPerSecond: Double(calls) / elapsed, submitOrdersPerSecond: 0, latencyMicroseconds: [:],
            errorsByStatus: [:], serverPeakRSSMegabytes: after.map { Double($0.peakRSSKilobytes) / 1024 },
            serverCPUPercent: Self.cpuPercent(before, after, elapsed: elapsed), setupSeconds: setup.seconds, ledgerViolations: violations, evaluationsPerSecond: nil)
    }

    static func cpuPercent(_ before: ProcessSample?, _ after: ProcessSample?, elapsed: Double) -> Double? {
        guard let before, let after else { return nil }
        return Double(after.cpuTicks - before.cpuTicks) / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed * 100
    }

    /// Runs `command` with /bin/sh, the mall's id in its environment, and fails when it does.
    private static func runShell(_ command: String, mallId: Int64) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(["ATRIUM_BENCH_MALL_ID": "\(mallId)"]) { $1 }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("--after-setup exited with \(process.terminationStatus)") }
    }

    // MARK: Setup

    /// `mallCount` malls with the members and merchants spread evenly over them, four set up at
    /// a time.
    func setUp(_ client: Client) async throws -> Fixture {
        let merchantsPerMall = max(1, merchantCount / mallCount)
        let membersPerMall = memberCount / mallCount
        let workers = min(4, mallCount)
        let made = try await withThrowingTaskGroup(of: [(Int, Fixture.Mall, [String])].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var made: [(Int, Fixture.Mall, [String])] = []
                    for index in stride(from: worker, to: mallCount, by: workers) {
                        let (mall, authorizations) = try await setUpMall(client, merchants: merchantsPerMall, members: membersPerMall)
                        made.append((index, mall, authorizations))
                    }
                    return made
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }.sorted { $0.0 < $1.0 }
        }
        return Fixture(
            malls: made.map(\.1),
            tills: made.flatMap { index, _, authorizations in authorizations.map { Fixture.Till(authorization: $0, mall: index) } })
    }

    /// A mall with rules for five categories, three tiers, a campaign, merchants with keys and
    /// members.
    func setUpMall(_ client: Client, merchants merchantCount: Int, members memberCount: Int) async throws -> (Fixture.Mall, [String]) {
        let platform = Atrium_V1_PlatformService.Client(wrapping: client)
        let created = try await platform.createMall(.with {
            $0.requestID = UUID().uuidString
            $0.code = "bench-" + UUID().uuidString.prefix(8).lowercased()
            $0.settings = .with {
                $0.name = "Bench Mall"; $0.currencyCode = "CNY"; $0.timeZone = "Asia/Shanghai"; $0.expiryPolicy = .endOfNextYear
                $0.pointsPaymentMaxShareBasisPoints = 5_000
            }
        }, metadata: ["authorization": "Bearer \(platformKey)"])
        let hq: Metadata = ["authorization": "Bearer \(created.headquartersKey.secret)"]
        let headquarters = Atrium_V1_HeadquartersService.Client(wrapping: client)
        let categories: [Atrium_V1_MerchantCategory] = [.supermarket, .foodAndBeverage, .fashion, .luxury, .cinema]
        for category in categories {
            _ = try await headquarters.setCategoryRule(.with {
                $0.requestID = UUID().uuidString; $0.category = category
                $0.rule = .with { $0.pointsPerStep = 1; $0.stepAmountMinor = 1_000; $0.perMemberDailyCapPoints = 1_000_000 }
            }, metadata: hq)
        }
        for (code, rank, multiplier) in [("normal", Int32(0), Int32(10_000)), ("silver", 1, 15_000), ("gold", 2, 20_000)] {
            _ = try await headquarters.setTier(.with {
                $0.requestID = UUID().uuidString
                $0.tier = .with { $0.code = code; $0.name = code; $0.rank = rank; $0.multiplierBasisPoints = multiplier }
            }, metadata: hq)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try await headquarters.createCampaign(.with {
            $0.requestID = UUID().uuidString
            $0.campaign = .with {
                $0.name = "Double points at F&B"; $0.startsAtUnixMs = now - 60_000; $0.endsAtUnixMs = now + 86_400_000
                $0.categories = [.foodAndBeverage]; $0.multiplierBasisPoints = 20_000
            }
        }, metadata: hq)
        var authorizations: [String] = []
        for i in 0..<merchantCount {
            let merchant = try await headquarters.createMerchant(.with {
                $0.requestID = UUID().uuidString; $0.code = "M\(i)"; $0.name = "Merchant \(i)"; $0.category = categories[i % categories.count]
            }, metadata: hq).merchant
            let key = try await headquarters.createApiKey(.with {
                $0.requestID = UUID().uuidString; $0.role = .merchant; $0.merchantID = merchant.id; $0.label = "bench"
            }, metadata: hq).key.secret
            authorizations.append("Bearer \(key)")
        }
        let registered = try await registerMembers(client, hq: hq, count: memberCount)
        var mall = Fixture.Mall(mallId: created.mall.id, hq: hq, memberCodes: registered.map(\.memberCode), memberIds: registered.map(\.id))
        if scenario == .checkout || scenario == .mix {
            mall.checkout = try await preparePayers(client, hq: hq, till: authorizations[0], members: Array(registered.prefix(Self.payersMax)))
        }
        return (mall, authorizations)
    }

    /// Members who pay in `checkout`: at most this many, each seeded with points and coupons enough for the run.
    static let payersMax = 2_000
    static let couponsPerPayer = 40

    /// Gives each payer 200,000 points (an order of ¥2,000,000 at 1 point per ¥10), a QR token and
    /// `couponsPerPayer` coupons of ¥5 off (the mall pays half); 16 calls in flight.
    func preparePayers(_ client: Client, hq: Metadata, till: String, members payers: [Atrium_V1_Member]) async throws -> CheckoutPool {
        let headquarters = Atrium_V1_HeadquartersService.Client(wrapping: client)
        let template = try await headquarters.createCouponTemplate(.with {
            $0.requestID = UUID().uuidString
            $0.template = .with {
                $0.name = "¥5 off"; $0.amountOffMinor = 500; $0.validDaysAfterIssue = 1; $0.perMemberLimit = Int32(Self.couponsPerPayer)
                $0.mallShareBasisPoints = 5_000
            }
        }, metadata: hq).template
        let tokens = try await seedPayers(client, hq: hq, till: till, members: payers)
        var codes: [Int64: [String]] = [:]
        for _ in 0..<Self.couponsPerPayer {
            for batch in stride(from: 0, to: payers.count, by: 1_000) {
                let ids = payers[batch..<min(batch + 1_000, payers.count)].map(\.id)
                for coupon in try await headquarters.issueCoupons(.with {
                    $0.requestID = UUID().uuidString; $0.templateID = template.id; $0.memberIds = ids
                }, metadata: hq).coupons { codes[coupon.memberID, default: []].append(coupon.code) }
            }
        }
        // Round by round across the payers, so consecutive orders are different members'.
        var pairs: [CheckoutPool.Payment] = []
        for round in 0..<Self.couponsPerPayer {
            for payer in payers {
                guard let token = tokens[payer.id], let code = codes[payer.id]?[safe: round] else { continue }
                pairs.append(.init(qrToken: token, couponCode: code))
            }
        }
        return CheckoutPool(payments: pairs, tokens: payers.compactMap { tokens[$0.id] })
    }

    /// Seeds each payer's points and issues its QR token; answers the tokens by member id.
    func seedPayers(_ client: Client, hq: Metadata, till: String, members payers: [Atrium_V1_Member]) async throws -> [Int64: String] {
        let merchant = Atrium_V1_MerchantService.Client(wrapping: client)
        let members = Atrium_V1_MemberService.Client(wrapping: client)
        let tillMetadata: Metadata = {
            var metadata = Metadata()
            metadata.addString(till, forKey: "authorization")
            return metadata
        }()
        let workers = 16
        return try await withThrowingTaskGroup(of: [(Int64, String)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var tokens: [(Int64, String)] = []
                    for index in stride(from: worker, to: payers.count, by: workers) {
                        let payer = payers[index]
                        _ = try await merchant.submitOrder(.with {
                            $0.order = .with { $0.orderNumber = "seed-\(payer.id)"; $0.member = .with { $0.memberCode = payer.memberCode }; $0.amountMinor = 200_000_000 }
                        }, metadata: tillMetadata)
                        tokens.append((payer.id, try await members.issueQrToken(.with { $0.memberID = payer.id }, metadata: hq).qrToken))
                    }
                    return tokens
                }
            }
            return Dictionary(uniqueKeysWithValues: try await group.reduce(into: []) { $0 += $1 })
        }
    }

    /// A checkout's order: the member by QR token writes off one of its coupons (¥5 off, while the
    /// pool has any) and pays 100–500 points (¥1–¥5) of a bill of ¥20 to ¥2,000.
    static func checkoutOrder(number: String, payment: CheckoutPool.Payment, random: UInt64) -> Atrium_V1_OrderInput {
        .with {
            $0.orderNumber = number
            $0.member = .with { $0.qrToken = payment.qrToken }
            $0.amountMinor = 2_000 + Int64(random % 198_001)
            $0.pointsToSpend = 100 * Int64(1 + (random >> 20) % 5)
            if let code = payment.couponCode { $0.couponCodes = [code] }
        }
    }

    /// Registers members in bulk: ImportMembers calls of 1,000, four in flight.
    func registerMembers(_ client: Client, hq: Metadata, count memberCount: Int) async throws -> [Atrium_V1_Member] {
        let members = Atrium_V1_MemberService.Client(wrapping: client)
        let chunk = 1_000
        let chunks = stride(from: 0, to: memberCount, by: chunk).map { $0..<min($0 + chunk, memberCount) }
        let workers = min(4, chunks.count)
        return try await withThrowingTaskGroup(of: [Atrium_V1_Member].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var result: [Atrium_V1_Member] = []
                    for range in stride(from: worker, to: chunks.count, by: workers).map({ chunks[$0] }) {
                        result += try await members.importMembers(.with {
                            $0.requestID = UUID().uuidString
                            $0.members = range.map { index in .with { $0.phone = "13" + String(format: "%09d", index) } }
                        }, metadata: hq).members
                    }
                    return result
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    // MARK: Load

    /// The kinds of call the load phase makes; a report gives each kind's latency.
    enum Call: String, Sendable {
        case submit, quote, balance, refund, list
        /// SubmitOrder paying with points and a coupon (`checkoutOrder`).
        case checkout
        /// A health check of a service the server does not have: answered NOT_FOUND before any
        /// database work, so it measures what gRPC alone costs on this machine.
        case floor
    }

    struct Stats: Sendable {
        var histogram = Stats.newHistogram()
        var byCall: [Call: Histogram<UInt64>] = [:]
        var errors: [String: Int] = [:]
        var submits = 0

        static func newHistogram() -> Histogram<UInt64> { Histogram(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three) }

        mutating func record(_ call: Call, microseconds: UInt64) {
            _ = histogram.record(microseconds)
            _ = byCall[call, default: Self.newHistogram()].record(microseconds)
            if call == .submit || call == .checkout { submits += 1 }
        }

        mutating func merge(_ other: Stats) {
            histogram.add(other.histogram)
            for (call, calls) in other.byCall { byCall[call, default: Self.newHistogram()].add(calls) }
            errors.merge(other.errors, uniquingKeysWith: +)
            submits += other.submits
        }
    }

    /// The mix: 45 % submit, 15 % checkout (paying with points and a coupon), 15 % quote, 10 %
    /// balance, 5 % refund (of an order this worker submitted), the rest order listing.
    func nextCall(_ generator: inout some RandomNumberGenerator, canRefund: Bool) -> Call {
        switch scenario {
        case .submit, .evaluate, .expiry, .settle: return .submit
        case .checkout: return .checkout
        case .floor: return .floor
        case .mix:
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<45: return .submit
            case 45..<60: return .checkout
            case 60..<75: return .quote
            case 75..<85: return .balance
            case 85..<90 where canRefund: return .refund
            default: return .list
            }
        }
    }

    func load(_ clients: [Client], _ fixture: Fixture, seconds: Int, worker prefix: String) async throws -> Stats {
        guard seconds > 0 else { return Stats() }
        if loadClient == .lean {
            let lean = LeanLoad(host: host, port: port, connections: connections, concurrency: concurrency)
            return try await lean.run(seconds: seconds, requests: try leanRequests(fixture, worker: prefix))
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        return try await withThrowingTaskGroup(of: Stats.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var stats = Stats()
                    var generator = SystemRandomNumberGenerator()
                    let till = fixture.tills[worker % fixture.tills.count]
                    let mall = fixture.malls[till.mall]
                    let client = clients[worker % clients.count]
                    let merchant = Atrium_V1_MerchantService.Client(wrapping: client)
                    let members = Atrium_V1_MemberService.Client(wrapping: client)
                    let health = Grpc_Health_V1_Health.Client(wrapping: client)
                    var metadata = Metadata()
                    metadata.addString(till.authorization, forKey: "authorization")
                    var sequence = 0
                    var refundable: [String] = []
                    while ContinuousClock.now < deadline {
                        sequence += 1
                        let memberIndex = Int.random(in: 0..<mall.memberCodes.count, using: &generator)
                        let call = nextCall(&generator, canRefund: !refundable.isEmpty)
                        let number = "\(prefix)\(worker)-\(sequence)-\(UUID().uuidString.prefix(8))"
                        let order = call == .checkout
                            ? Self.checkoutOrder(number: number, payment: mall.checkout?.take() ?? .init(qrToken: "", couponCode: nil), random: generator.next())
                            : Atrium_V1_OrderInput.with {
                                $0.orderNumber = number
                                $0.member = .with { $0.memberCode = mall.memberCodes[memberIndex] }
                                $0.amountMinor = Int64.random(in: 1_000...200_000, using: &generator)
                            }
                        let started = ContinuousClock.now
                        do {
                            switch call {
                            case .submit, .checkout:
                                _ = try await merchant.submitOrder(.with { $0.order = order }, metadata: metadata)
                                if refundable.count < 100 { refundable.append(number) }
                            case .quote:
                                _ = try await merchant.quoteOrder(.with { $0.order = order }, metadata: metadata)
                            case .balance:
                                _ = try await members.getBalance(.with { $0.memberID = mall.memberIds[memberIndex] }, metadata: mall.hq)
                            case .refund:
                                let target = refundable.removeFirst()
                                _ = try await merchant.refundOrder(.with { $0.refundID = "r-" + target; $0.orderNumber = target; $0.full = true }, metadata: metadata)
                            case .list:
                                _ = try await merchant.listOrders(.with { $0.pageSize = 10 }, metadata: metadata)
                            case .floor:
                                do {
                                    _ = try await health.check(.with { $0.service = "atrium.bench.Floor" })
                                } catch let error as RPCError where error.code == .notFound {}
                            }
                            stats.record(call, microseconds: UInt64((ContinuousClock.now - started).microseconds))
                        } catch let error as RPCError {
                            stats.errors["\(error.code)", default: 0] += 1
                        }
                    }
                    return stats
                }
            }
            var total = Stats()
            for try await stats in group { total.merge(stats) }
            return total
        }
    }
}

extension LoadRun {
    /// The lean client's requests: the same calls as the grpc-swift workers make, with the
    /// randomness drawn from (worker, sequence) so that making one costs no system call.
    func leanRequests(_ fixture: Fixture, worker prefix: String) throws -> LeanLoad.RequestSource {
        let submitPath = "/" + Atrium_V1_MerchantService.Method.SubmitOrder.descriptor.fullyQualifiedMethod
        let floorPath = "/" + Grpc_Health_V1_Health.Method.Check.descriptor.fullyQualifiedMethod
        let tills = fixture.tills
        let malls = fixture.malls
        let floorBytes: [UInt8] = try Grpc_Health_V1_HealthCheckRequest.with { $0.service = "atrium.bench.Floor" }.serializedBytes()
        let floorMessage = ByteBuffer(bytes: floorBytes)
        let scenario = scenario
        return { worker, sequence in
            if scenario == .floor { return LeanLoad.Request(call: .floor, path: floorPath, message: floorMessage, authorization: nil) }
            var random = SplitMix64(seed: UInt64(worker) << 40 ^ UInt64(sequence))
            // Each call from a till of one mall, for a member of that mall: the load spreads
            // evenly over the malls as the workers' calls go round the tills.
            let till = tills[(worker + sequence) % tills.count]
            let codes = malls[till.mall].memberCodes
            let checkout = malls[till.mall].checkout
            let number = "\(prefix)\(worker)-\(sequence)"
            let order = scenario == .checkout
                ? Self.checkoutOrder(number: number, payment: checkout?.take() ?? .init(qrToken: "", couponCode: nil), random: random.next())
                : Atrium_V1_OrderInput.with {
                    $0.orderNumber = number
                    $0.member = .with { $0.memberCode = codes[Int(random.next() % UInt64(codes.count))] }
                    $0.amountMinor = 1_000 + Int64(random.next() % 199_001)
                }
            let bytes: [UInt8] = try Atrium_V1_SubmitOrderRequest.with { $0.order = order }.serializedBytes()
            return LeanLoad.Request(
                call: scenario == .checkout ? .checkout : .submit, path: submitPath, message: ByteBuffer(bytes: bytes), authorization: till.authorization)
        }
    }
}

/// A small, fast generator (Steele, Lea and Flood's SplitMix64): good enough to pick members and amounts.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}

/// The checkout scenario's payments: each coupon once, round by round across the payers; when they
/// are used up, payments with points alone, the payers' tokens in turn.
final class CheckoutPool: Sendable {
    struct Payment: Sendable {
        var qrToken: String
        var couponCode: String?
    }

    let payments: [Payment]
    let tokens: [String]
    private let next = Atomic<Int>(0)

    init(payments: [Payment], tokens: [String]) {
        precondition(!tokens.isEmpty)
        self.payments = payments
        self.tokens = tokens
    }

    func take() -> Payment {
        let index = next.add(1, ordering: .relaxed).oldValue
        return index < payments.count ? payments[index] : Payment(qrToken: tokens[index % tokens.count], couponCode: nil)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

