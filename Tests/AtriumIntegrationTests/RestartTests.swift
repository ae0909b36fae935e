import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

/// What the tills have been answered, and when they should stop.
final class Tally: Sendable {
    let acknowledged = Mutex<[String: Int64]>([:])
    let stop = Atomic<Bool>(false)
    /// Calls that reached the till's deadline unanswered.
    let stuck = Atomic<Int>(0)
}

/// PostgreSQL restarted again and again under SubmitOrder load: the server neither crashes nor
/// needs a restart of its own, recovers each time, and every order it acknowledged is recorded
/// exactly once.
@Suite("Database restarts under load", .disabled(if: TestServer.citus, "runs on a plain cluster of its own, the same in both runs"))
struct RestartTests {
    static let restarts = 10

    /// A till gives up on a call after this long and retries it, as a real one would.
    static var tillDeadline: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(20)
        return options
    }

    @Test(.timeLimit(.minutes(4))) func theServerSurvivesTenRestartsAndLosesNoAcknowledgedOrder() async throws {
        let shared = try await TestServer.shared.start()
        let pid = ProcessInfo.processInfo.processIdentifier
        // Durable, unlike the suite's cluster: an immediate stop must not lose a commit that was
        // acknowledged.
        let cluster = try EmbeddedPostgres(
            options: .init(directory: "/tmp/atrium-test-\(pid)-restarts", port: 20_000 + Int(pid % 5_000), durable: true), logger: shared.logger)
        try await cluster.start()
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(atPath: cluster.options.directory)
        }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.platformKey = TestServer.platformKey
        configuration.expirySweepSeconds = 0
        var pool = cluster.clientConfiguration()
        pool.options.maximumConnections = 16
        let (client, _) = AtriumApplication.databaseClient(pool, threads: 1, citus: false, logger: shared.logger)
        let service = await RunningService.start(configuration, client: client, owner: cluster.ownerConfiguration(), alongside: [client], logger: shared.logger)
        defer { service.running.cancel() }
        let (group, port) = (service.group, service.port)

        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
            let platform = Api(grpc: grpc, key: TestServer.platformKey)
            let load = try await LoadMall.create(platform, members: 8)
            let (hq, till, members) = (load.hq, load.till, load.members)

            // Tills submit until told to stop; each number is retried until it is answered, as a
            // till retries an order it got no answer for.
            let tally = Tally()
            let tills = (0..<8).map { worker in
                Task {
                    var sequence = 0
                    while !tally.stop.load(ordering: .relaxed) {
                        sequence += 1
                        let number = "R\(worker)-\(sequence)"
                        while !tally.stop.load(ordering: .relaxed) {
                            do {
                                let answer = try await till.merchant.submitOrder(.with {
                                    $0.order = .with {
                                        $0.orderNumber = number
                                        $0.member = .with { $0.memberCode = members[worker].memberCode }
                                        $0.amountMinor = 1_000
                                    }
                                }, metadata: till.metadata, options: Self.tillDeadline)
                                tally.acknowledged.withLock { $0[number] = answer.order.id }
                                break
                            } catch let error as RPCError {
                                if error.code == .deadlineExceeded { tally.stuck.add(1, ordering: .relaxed) }
                                #expect(error.code != .internalError && error.code != .unknown, "\(error)")
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
            }
            for _ in 0..<Self.restarts {
                try await Task.sleep(for: .milliseconds(400))
                cluster.stop(immediately: true)
                try await Task.sleep(for: .milliseconds(200))
                try await cluster.start()
                // Recovered: an order is acknowledged after the restart.
                let before = tally.acknowledged.withLock { $0.count }
                let clock = ContinuousClock()
                let restarted = clock.now
                while tally.acknowledged.withLock({ $0.count }) == before, clock.now - restarted < .seconds(30) {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(tally.acknowledged.withLock { $0.count } > before, "no order acknowledged after a restart")
            }
            tally.stop.store(true, ordering: .relaxed)
            for task in tills { try await task.value }

            // Known and not yet explained: in about one run in three under the whole suite's load, a
            // call made around an immediate restart was never answered (before tills had deadlines,
            // the test then waited for it until its time limit). The till's retry records the order
            // once all the same; what holds the call is open work (see the closing note of #18).
            let stuck = tally.stuck.load(ordering: .relaxed)
            if stuck > 0 {
                withKnownIssue("a call around an immediate PostgreSQL restart went unanswered") {
                    Issue.record("\(stuck) calls reached the till's 20 s deadline")
                }
            }
            let acked = tally.acknowledged.withLock { $0 }
            #expect(acked.count > Self.restarts)
            for (number, id) in acked {
                let order = try await till.merchant.getOrder(.with { $0.orderNumber = number }, metadata: till.metadata).order
                #expect(order.id == id, "order \(number)")
            }
            let listed = try await hq.hq.checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: hq.metadata).violations
            #expect(listed == [])
            let total = try await load.totalPoints()
            #expect(total == Int64(acked.count) * 10, "each acknowledged order earned once, and nothing else did")
            // Health follows the database from a probe made each second: SERVING again within a few.
            let clock = ContinuousClock()
            let asked = clock.now
            while try await platform.health.check(Grpc_Health_V1_HealthCheckRequest()).status != .serving, clock.now - asked < .seconds(10) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(clock.now - asked < .seconds(5), "SERVING again after \(clock.now - asked)")
        }
        await group.triggerGracefulShutdown()
    }
}
