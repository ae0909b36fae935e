/// A period's statements as CSV (RFC 4180, header first): one row per line and one `net` row per
/// statement, so a spreadsheet's sum of the `net` rows is zero. Every field is a number, a fixed
/// word or an ISO 8601 instant, so nothing needs quoting.
public enum StatementCSV {
    public static let header = "period_id,period_start,period_end,currency,party,party_id,kind,entries,points,amount_minor"

    public static func render(periodId: Int64, startsAtMilliseconds: Int64, endsAtMilliseconds: Int64, currencyCode: String, statements: [Statement]) -> String {
        let prefix = "\(periodId),\(iso8601(startsAtMilliseconds)),\(iso8601(endsAtMilliseconds)),\(currencyCode)"
        var rows = [header]
        for statement in statements {
            let party = "\(partyName(statement.party)),\(statement.party.ownerId)"
            for line in statement.lines {
                rows.append("\(prefix),\(party),\(kindName(line.kind)),\(line.entries),\(line.points),\(line.amountMinor)")
            }
            rows.append("\(prefix),\(party),net,,,\(statement.netMinor)")
        }
        return rows.joined(separator: "\r\n") + "\r\n"
    }

    public static func partyName(_ party: Funder) -> String {
        switch party {
        case .mall: "mall"
        case .merchant: "merchant"
        case .partner: "partner"
        }
    }

    public static func kindName(_ kind: JournalKind) -> String {
        switch kind {
        case .earn: "issued"
        case .refund: "clawed_back"
        case .adjust: "adjusted"
        case .spend: "redeemed"
        case .expire: "expired"
        case .repay: "debt_repaid"
        case .spendReturn: "redemption_returned"
        case .couponSubsidy: "coupon_subsidy"
        case .couponSubsidyReturned: "coupon_subsidy_returned"
        case .rewardFulfilled: "reward_fulfilled"
        }
    }

    /// UTC, to the millisecond: 2026-11-23T08:00:00.000Z.
    public static func iso8601(_ milliseconds: Int64) -> String {
        let day = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let date = LocalDate(daysSinceEpoch: day)
        let inDay = milliseconds - day * 86_400_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(date)T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }
}
