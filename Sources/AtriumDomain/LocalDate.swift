/// A calendar date with no time zone, and the arithmetic the rules need without Foundation's
/// Calendar (which is far too slow for a million evaluations a second). Algorithms from Howard
/// Hinnant's "chrono-compatible low-level date algorithms".
public struct LocalDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1900...9999).contains(year), (1...12).contains(month),
            (1...LocalDate.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses "YYYY-MM-DD".
    public static func parse(_ text: String, field: String) throws(DomainError) -> LocalDate {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            let date = LocalDate(year: y, month: m, day: d)
        else { throw .invalid(field, "must be a date written YYYY-MM-DD") }
        return date
    }

    public var description: String {
        let y = String(year), m = month < 10 ? "0\(month)" : "\(month)", d = day < 10 ? "0\(day)" : "\(day)"
        return "\(y)-\(m)-\(d)"
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.init(unchecked: Int(y), Int(m), Int(d))
    }

    /// ISO weekday: 1 = Monday ... 7 = Sunday. 1970-01-01 was a Thursday.
    public var weekday: Int {
        let r = Int((daysSinceEpoch % 7 + 7) % 7)  // 0 = Thursday
        return (r + 3) % 7 + 1
    }

    /// The last day of the month `months` after this date's month.
    public func endOfMonth(afterMonths months: Int) -> LocalDate {
        let index = year * 12 + (month - 1) + months
        let y = index / 12, m = index % 12 + 1
        return LocalDate(unchecked: y, m, LocalDate.daysIn(month: m, year: y))
    }
}

/// Converts instants to the mall's wall clock. The offset is taken once per request from the
/// mall's time zone; a mall's zone with daylight saving would need the offset per instant,
/// which the caller supplies in the same way.
public struct MallClockReading: Sendable, Equatable {
    public let nowMilliseconds: Int64
    public let utcOffsetSeconds: Int32

    public init(nowMilliseconds: Int64, utcOffsetSeconds: Int32) {
        self.nowMilliseconds = nowMilliseconds
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    public func localDate(atMilliseconds instant: Int64) -> LocalDate {
        let localMs = instant + Int64(utcOffsetSeconds) * 1000
        let days = localMs >= 0 ? localMs / 86_400_000 : (localMs - 86_399_999) / 86_400_000
        return LocalDate(daysSinceEpoch: days)
    }

    /// The UTC instant at which local `date` begins.
    public func startOfDayMilliseconds(_ date: LocalDate) -> Int64 {
        date.daysSinceEpoch * 86_400_000 - Int64(utcOffsetSeconds) * 1000
    }
}
