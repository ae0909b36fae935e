import Foundation

/// One versioned schema change, embedded in the binary.
public struct Migration: Sendable {
    public let version: Int32
    public let name: String
    public let sql: String

    public init(version: Int32, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Every migration in order. Append only: an applied migration is never edited.
    public static let all: [Migration] = [
        .foundation, .ledger, .leanerLedgerKeys, .ledgerChecksInChecker, .ordersByMerchant, .lotsByMember, .payloadsWithoutStatistics,
        .inlinedInstants, .expiry, .settlement, .refundSequence, .memberDebts, .historyByPrivileges, .immutableInstants, .recordOrdersFunction, .recordRefundFunction, .expireLotsFunction, .mallJobs,
        .memberAppKeys, .pointsPaymentSettings, .pointHolds, .couponTemplates, .pointsPayment, .coupons, .couponWriteOff, .pointsMall, .couponHolds, .spendingLookups,
    ]

    /// The statements of `sql`, split on `;` at line ends outside dollar-quoted bodies, because
    /// the extended query protocol runs one statement at a time.
    var statements: [String] {
        var result: [String] = []
        var current = ""
        var insideDollarQuote = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            let dollarQuotes = line.components(separatedBy: "$$").count - 1
            if dollarQuotes % 2 == 1 { insideDollarQuote.toggle() }
            if !insideDollarQuote && line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                result.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { result.append(current) }
        return result
    }
}
