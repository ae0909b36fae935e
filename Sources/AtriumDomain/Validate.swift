/// Small checks that each name the field they refuse. Every request passes through these before
/// anything is read or written.
public enum Validate {
    /// A client-chosen idempotency key: 1..64 printable ASCII characters.
    public static func requestId(_ value: String, field: String = "request_id") throws(DomainError) {
        try text(value, field: field, min: 1, max: Limits.requestIdLengthMax)
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalid(field, "must be printable ASCII without spaces")
        }
    }

    /// Length in characters (grapheme clusters), no control characters.
    public static func text(_ value: String, field: String, min: Int = 0, max: Int) throws(DomainError) {
        let count = value.count
        guard count >= min else {
            throw .invalid(field, min == 1 ? "is required" : "must have at least \(min) characters")
        }
        guard count <= max else { throw .invalid(field, "must have at most \(max) characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "must not contain control characters")
        }
    }

    /// A code: 1..`max` characters of `A-Z a-z 0-9 - _`.
    public static func code(_ value: String, field: String, max: Int = Limits.codeLengthMax, lowercaseOnly: Bool = false) throws(DomainError) {
        try text(value, field: field, min: 1, max: max)
        let ok = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return !lowercaseOnly
            default:
                return false
            }
        }
        guard ok else {
            throw .invalid(field, lowercaseOnly ? "may contain only a-z, 0-9, '-' and '_'" : "may contain only letters, digits, '-' and '_'")
        }
    }

    public static func range<T: BinaryInteger>(_ value: T, field: String, _ bounds: ClosedRange<T>) throws(DomainError) {
        guard bounds.contains(value) else {
            throw .invalid(field, "must be between \(bounds.lowerBound) and \(bounds.upperBound)")
        }
    }

    /// A Unix-epoch instant in milliseconds, after 1970 and at most `Limits.instantMillisecondsMax`.
    public static func instant(_ value: Int64, field: String) throws(DomainError) {
        guard (1...Limits.instantMillisecondsMax).contains(value) else {
            throw .invalid(field, "must be an instant between 1970 and the end of 9999, in Unix milliseconds")
        }
    }

    public static func positiveId(_ value: Int64, field: String) throws(DomainError) {
        guard value > 0 else { throw .invalid(field, "is required") }
    }

    /// Clamps a requested page size: 0 means the default; above the maximum is refused.
    public static func pageSize(_ value: Int32, field: String = "page_size") throws(DomainError) -> Int {
        guard value >= 0 else { throw .invalid(field, "must not be negative") }
        guard value <= Limits.pageSizeMax else { throw .invalid(field, "must be at most \(Limits.pageSizeMax)") }
        return value == 0 ? Limits.pageSizeDefault : Int(value)
    }
}
