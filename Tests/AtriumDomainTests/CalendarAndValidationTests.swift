import AtriumDomain
import Testing

@Suite("Dates, expiry policies and input checks")
struct CalendarAndValidationTests {
    @Test func datesRoundTripAndKnowTheirWeekday() throws {
        let sunday = try LocalDate.parse("2026-11-22", field: "d")
        #expect(sunday.weekday == 7)
        #expect(LocalDate(year: 1970, month: 1, day: 1)!.weekday == 4)
        #expect(LocalDate(year: 2024, month: 2, day: 29) != nil)
        #expect(LocalDate(year: 2026, month: 2, day: 29) == nil)
        for days in stride(from: Int64(-1_000), to: 40_000, by: 37) {
            #expect(LocalDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(sunday.description == "2026-11-22")
        #expect(throws: DomainError.self) { try LocalDate.parse("2026-1-22", field: "d") }
        #expect(LocalDate(year: 2026, month: 11, day: 5)!.endOfMonth(afterMonths: 3) == LocalDate(year: 2027, month: 2, day: 28))
    }

    @Test func expiryPolicies() {
        let clock = MallClockReading(nowMilliseconds: 0, utcOffsetSeconds: 8 * 3600)
        // 2026-03-10 10:00 Shanghai.
        let earned = LocalDate(year: 2026, month: 3, day: 10)!.daysSinceEpoch * 86_400_000 + 2 * 3_600_000
        #expect(ExpiryPolicy.never.expiresAt(earnedAtMilliseconds: earned, clock: clock) == nil)
        #expect(ExpiryPolicy.daysAfterEarning(30).expiresAt(earnedAtMilliseconds: earned, clock: clock) == earned + 30 * 86_400_000)
        let endOfNextYear = clock.startOfDayMilliseconds(LocalDate(year: 2028, month: 1, day: 1)!)
        #expect(ExpiryPolicy.endOfNextYear.expiresAt(earnedAtMilliseconds: earned, clock: clock) == endOfNextYear)
        let endOfMay = clock.startOfDayMilliseconds(LocalDate(year: 2026, month: 6, day: 1)!)
        #expect(ExpiryPolicy.endOfMonthAfterMonths(2).expiresAt(earnedAtMilliseconds: earned, clock: clock) == endOfMay)
    }

    @Test func phoneNumbersNormalizeAndMask() throws {
        #expect(try PhoneNumber.normalize("13812345678") == "+8613812345678")
        #expect(try PhoneNumber.normalize("+86 138-1234-5678") == "+8613812345678")
        #expect(try PhoneNumber.normalize("+852 9123 4567") == "+85291234567")
        for bad in ["", "12345", "+86 023 1234 5678", "phone", "+0123456789", "+1234"] {
            #expect(throws: DomainError.self, "\(bad)") { try PhoneNumber.normalize(bad) }
        }
        #expect(PhoneNumber.masked("+8613812345678") == "+86138****5678")
        #expect(PersonName.masked("张三丰") == "张**")
    }

    @Test func pageTokensAndRequestIds() throws {
        #expect(try PageToken.decode(PageToken.encode(lastId: 123_456)) == 123_456)
        #expect(try PageToken.decode("") == 0)
        #expect(throws: DomainError.self) { try PageToken.decode("c-5") }
        #expect(PageToken.next(ids: [1, 2], pageSize: 2) == PageToken.encode(lastId: 2))
        #expect(PageToken.next(ids: [1], pageSize: 2) == "")
        #expect(throws: DomainError.invalid("request_id", "is required")) { try Validate.requestId("") }
        #expect(throws: DomainError.self) { try Validate.requestId("a b") }
        #expect(try Validate.pageSize(0) == Limits.pageSizeDefault)
    }

    @Test func campaignsValidateTheirShape() {
        var campaign = Campaign(id: 0, name: "x", startsAtMilliseconds: 1_000, endsAtMilliseconds: 2_000, multiplierBasisPoints: 20_000)
        #expect(throws: Never.self) { try campaign.validate() }
        campaign.bonusPoints = 10
        #expect(throws: DomainError.self) { try campaign.validate() }
        campaign.multiplierBasisPoints = 0
        #expect(throws: Never.self) { try campaign.validate() }
        campaign.endsAtMilliseconds = 1_000
        #expect(throws: DomainError.invalid("campaign.ends_at_unix_ms", "must be after starts_at_unix_ms")) { try campaign.validate() }
    }
}
