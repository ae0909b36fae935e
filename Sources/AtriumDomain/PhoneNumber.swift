/// Normalizes phone numbers to E.164. A bare 11-digit number starting with 1 is taken as a
/// mainland China mobile number (+86), which is what a mall's POS staff type.
public enum PhoneNumber {
    public static func normalize(_ raw: String, field: String = "phone") throws(DomainError) -> String {
        guard raw.utf8.count <= 32 else { throw .invalid(field, "is too long") }
        var digits = ""
        var plus = false
        for (index, ch) in raw.enumerated() {
            if ch == "+" && index == 0 { plus = true; continue }
            if ch == " " || ch == "-" || ch == "(" || ch == ")" { continue }
            guard let ascii = ch.asciiValue, ascii >= 0x30, ascii <= 0x39 else {
                throw .invalid(field, "must contain only digits, spaces, '-' and a leading '+'")
            }
            digits.append(ch)
        }
        if !plus {
            guard digits.count == 11, digits.first == "1" else {
                throw .invalid(field, "must be E.164 (+8613812345678) or an 11-digit mainland mobile number")
            }
            digits = "86" + digits
        }
        guard (8...15).contains(digits.count), digits.first != "0" else {
            throw .invalid(field, "must be E.164: '+', country code and 8 to 15 digits in all")
        }
        if digits.hasPrefix("86") {
            let national = digits.dropFirst(2)
            guard national.count == 11, national.first == "1" else {
                throw .invalid(field, "is not a valid mainland China mobile number")
            }
        }
        return "+" + digits
    }

    /// "+8613812345678" → "+86138****5678": what a merchant may see.
    public static func masked(_ e164: String) -> String {
        guard e164.count > 8 else { return String(repeating: "*", count: e164.count) }
        let prefix = e164.prefix(e164.count - 8)
        let suffix = e164.suffix(4)
        return prefix + "****" + suffix
    }
}

public enum PersonName {
    /// "张三丰" → "张**": the first character only.
    public static func masked(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(name.count - 1, 1))
    }
}
