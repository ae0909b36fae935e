import AtriumProto
import Foundation
import GRPCCore
import GRPCProtobuf
import GRPCNIOTransportHTTP2
import Testing

typealias Transport = HTTP2ClientTransport.Posix

/// A caller of the real server over HTTP/2: one credential and the service clients.
struct Api: Sendable {
    let grpc: GRPCClient<Transport>
    let key: String

    var metadata: Metadata { key.isEmpty ? [:] : ["authorization": "Bearer \(key)"] }
    var platform: Atrium_V1_PlatformService.Client<Transport> { .init(wrapping: grpc) }
    var hq: Atrium_V1_HeadquartersService.Client<Transport> { .init(wrapping: grpc) }
    var members: Atrium_V1_MemberService.Client<Transport> { .init(wrapping: grpc) }
    var merchant: Atrium_V1_MerchantService.Client<Transport> { .init(wrapping: grpc) }
    var health: Grpc_Health_V1_Health.Client<Transport> { .init(wrapping: grpc) }

    func with(key: String) -> Api { Api(grpc: grpc, key: key) }

    static func platformOperator() async throws -> Api {
        let server = try await TestServer.shared.start()
        return Api(grpc: server.grpc, key: TestServer.platformKey)
    }
}

/// Unique names so parallel tests never collide.
enum Unique {
    static func code(_ prefix: String = "t") -> String { prefix + "-" + UUID().uuidString.prefix(12).lowercased() }
    static func requestId() -> String { UUID().uuidString }

    /// A fresh mainland mobile number.
    static func phone() -> String { "139" + String(format: "%08d", Int.random(in: 0..<100_000_000)) }
}

/// Asserts that `body` fails with `code`, and that the message mentions `mentioning` if given.
func expectStatus<T>(
    _ code: RPCError.Code, mentioning text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code) but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code, "message: \(error.message)", sourceLocation: sourceLocation)
        if let text { #expect(error.message.contains(text), "message '\(error.message)' should mention '\(text)'", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Asserts that `body` is refused with FAILED_PRECONDITION whose status details carry a
/// `google.rpc.ErrorInfo` with domain "atrium.v1" and `reason` (e.g. "MEMBER_FROZEN").
func expectRefusal<T>(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async {
    do {
        _ = try await body()
        Issue.record("expected FAILED_PRECONDITION \(reason) but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == .failedPrecondition, "message: \(error.message)", sourceLocation: sourceLocation)
        let info = (try? error.unpackGoogleRPCStatus())?.details.compactMap(\.errorInfo).first
        #expect(info?.reason == reason && info?.domain == "atrium.v1", "details: \(String(describing: info))", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RPCError FAILED_PRECONDITION, got \(error)", sourceLocation: sourceLocation)
    }
}
