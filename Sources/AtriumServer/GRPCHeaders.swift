import Foundation
import GRPCCore
import NIOHPACK

/// gRPC over HTTP/2's header rules (PROTOCOL-HTTP2.md) as `FrameServerTransport` needs them:
/// checking a request's headers, and writing a response's headers and trailers.
enum GRPCHeaders {
    /// Why a request is refused before it reaches a handler: the headers to answer with.
    struct Refusal: Error {
        var headers: HPACKHeaders
    }

    /// The method a request calls, or the answer that refuses it.
    static func method(of headers: HPACKHeaders) -> Result<MethodDescriptor, Refusal> {
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            return .failure(Refusal(headers: [":status": "415"]))
        }
        guard headers.first(name: ":method") == "POST" else {
            return .failure(Refusal(headers: trailers(Status(code: .invalidArgument, message: ":method must be POST"), trailersOnly: true)))
        }
        if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
            var refusal = trailers(Status(code: .unimplemented, message: "\(encoding) compression is not supported"), trailersOnly: true)
            refusal.add(name: "grpc-accept-encoding", value: "identity")
            return .failure(Refusal(headers: refusal))
        }
        guard let path = headers.first(name: ":path"), path.hasPrefix("/") else {
            return .failure(Refusal(headers: trailers(Status(code: .unimplemented, message: "no :path"), trailersOnly: true)))
        }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            return .failure(Refusal(headers: trailers(Status(code: .unimplemented, message: "malformed :path"), trailersOnly: true)))
        }
        return .success(MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1])))
    }

    /// Every request header as metadata, as grpc-swift's own transport passes them: binary
    /// ("-bin") values base64-decoded, padded or not.
    static func metadata(_ headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(headers.count)
        for header in headers {
            if header.name.hasSuffix("-bin"), let bytes = base64Decoded(header.value) {
                metadata.addBinary(bytes, forKey: header.name)
            } else {
                metadata.addString(header.value, forKey: header.name)
            }
        }
        return metadata
    }

    static func responseHeaders(_ metadata: Metadata) -> HPACKHeaders {
        var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
        add(metadata, to: &headers)
        return headers
    }

    /// The status and trailing metadata; `trailersOnly` when no response headers went before.
    static func trailers(_ status: Status, metadata: Metadata = [:], trailersOnly: Bool) -> HPACKHeaders {
        var headers: HPACKHeaders = trailersOnly ? [":status": "200", "content-type": "application/grpc"] : [:]
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty { headers.add(name: "grpc-message", value: percentEncoded(status.message)) }
        add(metadata, to: &headers)
        return headers
    }

    private static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for (key, value) in metadata where !key.hasPrefix(":") {
            switch value {
            case .string(let text): headers.add(name: key.lowercased(), value: text)
            case .binary(let bytes): headers.add(name: key.lowercased(), value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// grpc-message carries printable ASCII as it is and every other byte (and '%') as %XX.
    static func percentEncoded(_ message: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if (0x20...0x7E).contains(byte), byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }

    private static func base64Decoded(_ text: String) -> [UInt8]? {
        let padding = (4 - text.utf8.count % 4) % 4
        return Data(base64Encoded: text + String(repeating: "=", count: padding)).map { Array($0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
