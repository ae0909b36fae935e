/// Codes people read and type: no 0/O, 1/I/L to confuse.
public enum MemberCode {
    public static let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    /// "M" and 9 characters: about 2^44 codes, so a random one rarely collides (the store retries).
    public static func generate<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var code = "M"
        for _ in 0..<9 { code.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]) }
        return code
    }

    public static func validate(_ code: String, field: String) throws(DomainError) {
        guard code.count == 10, code.first == "M", code.dropFirst().allSatisfy({ alphabet.contains($0) }) else {
            throw .invalid(field, "is not a member code")
        }
    }
}
