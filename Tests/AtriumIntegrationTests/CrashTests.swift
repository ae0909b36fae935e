import AtriumProto
import AtriumServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// A real atriumd process killed with SIGKILL in the middle of SubmitOrder load and started again
/// on the same data: the tills retry what was not answered, and every order ends recorded exactly
/// once (a retry of one recorded before the kill replays it).
@Suite("atriumd killed mid-load", .disabled(if: TestServer.citus, "runs on a plain cluster of its own, the same in both runs"))
struct CrashTests {
    /// The atriumd built beside this test bundle.
    static var atriumd: String {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("atriumd").path
    }

    static func launch(directory: String, port: Int, embeddedPort: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: atriumd)
        process.arguments = [
            "--data-dir", directory, "--port", "\(port)", "--embedded-port", "\(embeddedPort)", "--platform-key", TestServer.platformKey,
            "--expiry-sweep-seconds", "0", "--log-level", "error",
        ]
        process.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: directory + ".log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + ".log")
        try process.run()
        return process
    }

    @Test(.timeLimit(.minutes(4))) func killedMidLoadAndRestartedEveryOrderIsRecordedOnce() async throws {
        let shared = try await TestServer.shared.start()
        try #require(FileManager.default.isExecutableFile(atPath: Self.atriumd), "atriumd is built with the tests")
        let pid = ProcessInfo.processInfo.processIdentifier
        let directory = "/tmp/atrium-test-\(pid)-crash"
        let port = 15_000 + Int(pid % 5_000), embeddedPort = 10_000 + Int(pid % 5_000)
        try? FileManager.default.removeItem(atPath: directory)
        var server = try Self.launch(directory: directory, port: port, embeddedPort: embeddedPort)
        defer {
            if server.isRunning { server.terminate() }
            // SIGKILL leaves the embedded cluster running; stop it whatever happened.
            if let cluster = try? EmbeddedPostgres(options: .init(directory: directory, port: embeddedPort, durable: true), logger: shared.logger) {
                cluster.stop()
            }
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + ".log")
        }

        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
            let platform = Api(grpc: grpc, key: TestServer.platformKey)
            var ready = CallOptions.defaults
            ready.waitForReady = true
            ready.timeout = .seconds(120)
            let load = try await LoadMall.create(platform, members: 8, firstCall: ready)
            let (hq, till, members) = (load.hq, load.till, load.members)

            let tally = Tally()
            let tills = (0..<8).map { worker in
                Task {
                    var sequence = 0
                    while !tally.stop.load(ordering: .relaxed) {
                        sequence += 1
                        let number = "K\(worker)-\(sequence)"
                        // Retried until answered, across the kill: the till does not know whether
                        // the server recorded it before it died.
                        while true {
                            do {
                                let answer = try await till.submit(number, member: members[worker], amountMinor: 1_000)
                                tally.acknowledged.withLock { $0[number] = answer.order.id }
                                break
                            } catch let error as RPCError {
                                #expect(error.code != .internalError && error.code != .unknown && error.code != .alreadyExists, "\(error)")
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .seconds(2))
            let clock = ContinuousClock()
            let killed = clock.now
            kill(server.processIdentifier, SIGKILL)
            // Not Process.waitUntilExit: it was seen to wait forever for a reaped child.
            while kill(server.processIdentifier, 0) == 0, clock.now - killed < .seconds(10) { try await Task.sleep(for: .milliseconds(50)) }
            let beforeRestart = tally.acknowledged.withLock { $0.count }
            server = try Self.launch(directory: directory, port: port, embeddedPort: embeddedPort)
            let restarted = clock.now
            while tally.acknowledged.withLock({ $0.count }) == beforeRestart, clock.now - restarted < .seconds(90) {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(tally.acknowledged.withLock { $0.count } > beforeRestart, "no order acknowledged after the restart")
            try await Task.sleep(for: .seconds(1))
            tally.stop.store(true, ordering: .relaxed)
            for task in tills { try await task.value }

            let acked = tally.acknowledged.withLock { $0 }
            for (number, id) in acked {
                let order = try await till.merchant.getOrder(.with { $0.orderNumber = number }, metadata: till.metadata).order
                #expect(order.id == id, "order \(number)")
            }
            let total = try await load.totalPoints()
            // Ten points an order: nothing recorded twice, and nothing that no till was answered for.
            #expect(total == Int64(acked.count) * 10)
            #expect(try await hq.hq.checkLedger(Atrium_V1_CheckLedgerRequest(), metadata: hq.metadata).violations == [])
        }
    }
}
