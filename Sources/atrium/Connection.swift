import ArgumentParser
import AtriumProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// Where and as whom a command calls.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server address host:port. Env: ATRIUM_SERVER (default 127.0.0.1:50051).")
    var server: String?

    @Option(help: "API key (Bearer token). Env: ATRIUM_KEY.")
    var key: String?

    var metadata: Metadata {
        let token = key ?? ProcessInfo.processInfo.environment["ATRIUM_KEY"] ?? ""
        return token.isEmpty ? [:] : ["authorization": "Bearer \(token)"]
    }

    /// Runs `body` with a connected client, then closes it.
    func withClient<T: Sendable>(_ body: @Sendable @escaping (GRPCClient<HTTP2ClientTransport.Posix>, Metadata) async throws -> T) async throws -> T {
        let address = server ?? ProcessInfo.processInfo.environment["ATRIUM_SERVER"] ?? "127.0.0.1:50051"
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--server must be host:port") }
        let metadata = self.metadata
        return try await withGRPCClient(transport: .http2NIOPosix(target: .dns(host: String(parts[0]), port: port), transportSecurity: .plaintext)) { client in
            try await body(client, metadata)
        }
    }
}

/// Prints a response as JSON (field names as in the .proto files).
func printJSON(_ message: some SwiftProtobuf.Message) throws {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    print(try message.jsonString(options: options))
}

func newRequestId() -> String { UUID().uuidString }
