import Foundation
import Histogram

/// What one run measured, as a table and as JSON.
struct Report: Codable {
    var scenario: String
    /// The load phase's client: lean or grpc-swift (`Bench.Client`).
    var client: String?
    var cores: Int
    var concurrency: Int
    var durationSeconds: Double
    var calls: Int
    var callsPerSecond: Double
    var submitOrdersPerSecond: Double
    var latencyMicroseconds: [String: UInt64]
    var callsByKind: [String: Int] = [:]
    var latencyByKindMicroseconds: [String: [String: UInt64]] = [:]
    var errorsByStatus: [String: Int]
    var serverPeakRSSMegabytes: Double?
    var serverCPUPercent: Double?
    var setupSeconds: Double
    var ledgerViolations: [String]
    var evaluationsPerSecond: Double?
    /// The expiry scenario's: what its ExpirePoints calls expired.
    var lotsExpired: Int64?
    var pointsExpired: Int64?
    /// The settle scenario's: the clearing entries and statements of the period it closed.
    var entriesSettled: Int64?
    var statements: Int?

    static func latencies(_ histogram: Histogram<UInt64>) -> [String: UInt64] {
        guard histogram.totalCount > 0 else { return [:] }
        return [
            "p50": histogram.valueAtPercentile(50), "p95": histogram.valueAtPercentile(95),
            "p99": histogram.valueAtPercentile(99), "max": histogram.max,
        ]
    }

    var table: String {
        func ms(_ key: String, of latencies: [String: UInt64]? = nil) -> String {
            (latencies ?? latencyMicroseconds)[key].map { String(format: "%.2f ms", Double($0) / 1000) } ?? "-"
        }
        var rows = [
            "scenario            \(scenario)",
            "cores               \(cores)",
        ]
        if let evaluationsPerSecond {
            rows.append(String(format: "evaluations/s       %.0f (one core)", evaluationsPerSecond))
            return rows.joined(separator: "\n") + "\n"
        }
        let batchJob: String? = if let lotsExpired {
            String(format: "expired             %lld lots, %lld points in %.1f s (%.0f lots/s), %d ExpirePoints calls",
                   lotsExpired, pointsExpired ?? 0, durationSeconds, Double(lotsExpired) / durationSeconds, calls)
        } else if let entriesSettled {
            String(format: "settled             %lld clearing entries into %d statements in %.1f s (%.0f entries/s), %d CloseSettlementPeriod calls",
                   entriesSettled, statements ?? 0, durationSeconds, Double(entriesSettled) / durationSeconds, calls)
        } else { nil }
        if let batchJob {
            rows += [
                batchJob,
                "server peak RSS     \(serverPeakRSSMegabytes.map { String(format: "%.0f MB", $0) } ?? "-")",
                "server CPU          \(serverCPUPercent.map { String(format: "%.0f %%", $0) } ?? "-")",
                String(format: "setup               %.1f s", setupSeconds),
                "ledger invariants   \(ledgerViolations.isEmpty ? "hold" : "\(ledgerViolations.count) violations")",
            ]
            return rows.joined(separator: "\n") + "\n"
        }
        rows += [
            "client              \(client ?? "-")",
            "concurrency         \(concurrency)",
            String(format: "measured            %.1f s, %d calls", durationSeconds, calls),
            String(format: "throughput          %.0f calls/s (SubmitOrder %.0f/s)", callsPerSecond, submitOrdersPerSecond),
            "latency             p50 \(ms("p50"))  p95 \(ms("p95"))  p99 \(ms("p99"))  max \(ms("max"))",
        ]
        if callsByKind.count > 1 {
            for (kind, count) in callsByKind.sorted(by: { $0.value > $1.value }) {
                let latencies = latencyByKindMicroseconds[kind]
                let label = "  \(kind)".padding(toLength: 20, withPad: " ", startingAt: 0)
                rows.append(label + String(format: "%6d calls", count) + "  p50 \(ms("p50", of: latencies))  p99 \(ms("p99", of: latencies))  max \(ms("max", of: latencies))")
            }
        }
        rows += [
            "errors              \(errorsByStatus.isEmpty ? "none" : errorsByStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            "server peak RSS     \(serverPeakRSSMegabytes.map { String(format: "%.0f MB", $0) } ?? "-")",
            "server CPU          \(serverCPUPercent.map { String(format: "%.0f %%", $0) } ?? "-")",
            String(format: "setup               %.1f s", setupSeconds),
            "ledger invariants   \(ledgerViolations.isEmpty ? "hold" : "\(ledgerViolations.count) violations")",
        ]
        return rows.joined(separator: "\n") + "\n"
    }

    func writeJSON(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// Peak RSS and CPU time of a process, from /proc.
struct ProcessSample {
    var cpuTicks: Int
    var peakRSSKilobytes: Int

    static func read(pid: Int32) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        let kilobytes = hwm.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        return ProcessSample(cpuTicks: user + system, peakRSSKilobytes: kilobytes)
    }
}
