/// Bearer tokens. A mall key names its mall ("atr_12_…") so the server can set the mall before
/// looking the key up under row-level security; a platform key starts "atrp_". The secret part
/// is 40 characters of base 62 from the system's cryptographic generator (about 238 bits).
public enum Keys {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    public static let secretLength = 40
    public static let tokenLengthMax = 80
    static let prefixLength = 12

    public static func randomSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<secretLength).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    public static func mallToken(mallId: Int64) -> String { "atr_\(mallId)_\(randomSecret())" }
    public static func platformToken() -> String { "atrp_\(randomSecret())" }

    public static func prefix(of token: String) -> String { String(token.prefix(prefixLength)) }

    public enum Parsed: Equatable, Sendable {
        case platform
        case mall(Int64)
    }

    /// Which table to look the token up in; nil when it cannot be one of ours.
    public static func parse(_ token: String) -> Parsed? {
        guard token.utf8.count <= tokenLengthMax else { return nil }
        if token.hasPrefix("atrp_") { return token.utf8.count == 5 + secretLength ? .platform : nil }
        let parts = token.split(separator: "_")
        guard parts.count == 3, parts[0] == "atr", let mallId = Int64(parts[1]), mallId > 0, parts[2].count == secretLength else { return nil }
        return .mall(mallId)
    }
}
