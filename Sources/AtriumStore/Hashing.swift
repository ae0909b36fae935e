import Crypto

/// SHA-256, for API key secrets and request fingerprints.
public enum Hashing {
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        Array(SHA256.hash(data: Array(bytes)))
    }

    public static func sha256(_ text: String) -> [UInt8] { sha256(Array(text.utf8)) }
}
