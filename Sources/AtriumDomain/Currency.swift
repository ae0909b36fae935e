/// ISO 4217 currencies a mall may use, with their minor-unit exponent.
public enum Currency {
    public static let minorUnitExponent: [String: Int] = [
        "CNY": 2, "HKD": 2, "MOP": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2,
        "MYR": 2, "THB": 2, "AUD": 2, "CAD": 2, "CHF": 2, "AED": 2, "JPY": 0, "KRW": 0, "VND": 0,
        "IDR": 2, "PHP": 2, "INR": 2,
    ]

    public static func validate(_ code: String, field: String) throws(DomainError) {
        guard minorUnitExponent[code] != nil else {
            throw .invalid(field, "must be a supported ISO 4217 code such as CNY")
        }
    }
}
