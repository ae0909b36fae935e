import Crypto
import Foundation

/// SHA-256, for API key secrets and request fingerprints.
public enum Hashing {
    /// `Data`, because postgres-nio binds it as `bytea` (an `[UInt8]` would become an array).
    public static func sha256<Bytes: Sequence>(_ bytes: Bytes) -> Data where Bytes.Element == UInt8 {
        Data(SHA256.hash(data: Array(bytes)))
    }

    public static func sha256(_ text: String) -> Data { sha256(Array(text.utf8)) }
}
