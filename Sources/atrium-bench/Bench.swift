import ArgumentParser
import Foundation

/// Drives a running atriumd over real gRPC: sets up a mall, then measures a scenario.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrium-bench",
        abstract: "Atrium benchmark: setup, then a timed load of SubmitOrder or a mix, or the rule-evaluation micro-benchmark.")

    enum Scenario: String, ExpressibleByArgument, CaseIterable { case submit, checkout, mix, floor, evaluate, expiry, settle }

    /// Which client drives the load phase of `submit` and `floor` (`mix` always uses grpc-swift).
    enum Client: String, ExpressibleByArgument, CaseIterable {
        /// HTTP/2 frames written on the event loop (`LeanLoad`): the load costs the shared cores little.
        case lean
        /// grpc-swift's generated clients, as an application would call the service.
        case grpcSwift = "grpc-swift"
    }

    @Option(help: "submit, checkout (SubmitOrder paying part of the bill with points on a member's QR token, half of them with a declared coupon part too), mix, floor (health checks answered without the database: gRPC's own cost), evaluate, expiry (ExpirePoints until nothing is due, over the lots --after-setup seeded; see deploy/bench-expiry-seed.sql), or settle (CloseSettlementPeriod over the clearing entries --after-setup seeded; see deploy/bench-settle-seed.sql).") var scenario: Scenario = .submit
    @Option(help: "Client of the load phase of submit and floor: lean (HTTP/2 frames on the event loop) or grpc-swift.") var client: Client = .lean
    @Option(help: "atriumd address host:port.") var server = "127.0.0.1:50051"
    @Option(help: "Platform operator key (or ATRIUM_PLATFORM_KEY).") var platformKey: String?
    @Option(help: "Members created in the setup phase.") var members = 100_000
    @Option(help: "Merchants created in the setup phase.") var merchants = 20
    @Option(help: "Malls the members and merchants are spread over evenly (submit and mix): a platform hosting many malls, a few tills busy in each.") var malls = 1
    @Option(help: "Calls in flight during the load phase.") var concurrency = 32
    @Option(help: "HTTP/2 connections the calls in flight spread over (tills do not share one).") var connections = 8
    @Option(help: "Seconds of measured load.") var duration = 30
    @Option(help: "Seconds of unmeasured load before it.") var warmup = 5
    @Option(help: "Process id of atriumd, to report its peak RSS and CPU.") var serverPid: Int32?
    @Option(help: "Also write the report as JSON to this file.") var json: String?
    /// The setup writes every member at once; the kernel writes those pages back about 30 s
    /// later, in the middle of the measurement, and each commit's WAL flush then waits behind
    /// them (commits of 100-250 ms). A CHECKPOINT here pays that before the load starts.
    @Option(help: "Shell command run after the setup phase, before the warm-up (e.g. psql -c CHECKPOINT). It sees the mall's id in ATRIUM_BENCH_MALL_ID.") var afterSetup: String?
    @Option(help: "Evaluations for the micro-benchmark.") var evaluations = 5_000_000

    func validate() throws {
        guard (1...1024).contains(concurrency) else { throw ValidationError("concurrency must be 1...1024") }
        guard (1...concurrency).contains(connections) else { throw ValidationError("connections must be 1...concurrency") }
        guard (1...3600).contains(duration), (0...600).contains(warmup) else { throw ValidationError("duration 1...3600 s, warmup 0...600 s") }
        guard (1...10_000_000).contains(members), (1...1000).contains(merchants) else { throw ValidationError("members 1...10^7, merchants 1...1000") }
        guard (1...10_000).contains(malls), malls <= members else { throw ValidationError("malls 1...10000, at most one per member") }
        guard malls == 1 || [.submit, .mix].contains(scenario) else { throw ValidationError("--malls applies to submit and mix") }
        // The payers' QR tokens are issued at the end of the setup and live five minutes.
        guard ![.checkout, .mix].contains(scenario) || warmup + duration <= 240 else { throw ValidationError("checkout and mix: warmup + duration at most 240 s") }
    }

    func run() async throws {
        if scenario == .evaluate {
            let report = EvaluateBenchmark.run(evaluations: evaluations)
            FileHandle.standardOutput.write(Data(report.table.utf8))
            if let json { try report.writeJSON(to: json) }
            return
        }
        guard let key = platformKey ?? ProcessInfo.processInfo.environment["ATRIUM_PLATFORM_KEY"] else {
            throw ValidationError("--platform-key or ATRIUM_PLATFORM_KEY is required")
        }
        let parts = server.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--server must be host:port") }
        let report = try await LoadRun(
            host: String(parts[0]), port: port, platformKey: key, scenario: scenario, loadClient: scenario == .mix ? .grpcSwift : client, memberCount: members, merchantCount: merchants, mallCount: malls,
            concurrency: concurrency, connections: connections, durationSeconds: duration, warmupSeconds: warmup, serverPid: serverPid,
            afterSetup: afterSetup
        ).run()
        FileHandle.standardOutput.write(Data(report.table.utf8))
        if let json { try report.writeJSON(to: json) }
        guard report.ledgerViolations.isEmpty else {
            FileHandle.standardError.write(Data("LEDGER INVARIANTS BROKEN:\n\(report.ledgerViolations.joined(separator: "\n"))\n".utf8))
            throw ExitCode.failure
        }
    }
}
