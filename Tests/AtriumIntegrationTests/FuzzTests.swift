import AtriumProto
import AtriumStore
import Foundation
import GRPCCore
import PostgresNIO
import Testing

/// Malformed and random requests to every RPC over the real transport: the server answers each
/// with a status that names a cause (never INTERNAL or UNKNOWN), stays up, and writes nothing.
@Suite("Fuzzing every RPC")
struct FuzzTests {
    /// Bytes as they are, both ways.
    struct RawBytes: MessageSerializer, MessageDeserializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
            serializedMessageBytes.withUnsafeBytes { Array($0) }
        }
    }

    /// A reproducible generator (SplitMix64), so a failing payload can be found again.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Half the time plain noise; otherwise fields of random numbers and wire types with random
    /// values: huge, negative and zero varints, odd strings, nested noise, truncated ends.
    static func payload(_ random: inout Random) -> [UInt8] {
        if random.next() % 2 == 0 { return (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        var bytes: [UInt8] = []
        for _ in 0..<(1 + random.next() % 6) {
            let field = 1 + random.next() % 12
            switch random.next() % 4 {
            case 0:
                varint(field << 3, into: &bytes)
                let values: [UInt64] = [0, 1, UInt64(bitPattern: -1), UInt64(Int64.max), UInt64(bitPattern: Int64.min), random.next(), random.next() % 1_000]
                varint(values[Int(random.next() % UInt64(values.count))], into: &bytes)
            case 1:
                varint(field << 3 | 2, into: &bytes)
                let texts = ["", "a", String(repeating: "x", count: 300), "中文", "'; DROP TABLE members; --", "\u{0}", "13900000000", "+8613912345678", "normal"]
                var content = Array(texts[Int(random.next() % UInt64(texts.count))].utf8)
                if random.next() % 3 == 0 { content = (0..<Int(random.next() % 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
                varint(UInt64(content.count), into: &bytes)
                bytes += content
            case 2:
                varint(field << 3 | 5, into: &bytes)
                bytes += (0..<4).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            default:
                varint(field << 3 | 1, into: &bytes)
                bytes += (0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        if random.next() % 8 == 0, !bytes.isEmpty { bytes.removeLast(1 + Int(random.next() % UInt64(bytes.count))) }
        return bytes
    }

    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var value = value
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
    }

    static let forbidden: Set<RPCError.Code> = [.internalError, .unknown, .dataLoss, .unimplemented]

    @Test(.timeLimit(.minutes(5))) func randomRequestsToEveryMethodNeverCrashNorAnswerInternalNorWrite() async throws {
        let server = try await TestServer.shared.start()
        let fixture = try await MallFixture.create()
        try await fixture.setCategoryRule(.fashion, pointsPerStep: 1, stepMinor: 100)
        let (_, till) = try await fixture.merchant(category: .fashion)
        let member = try await fixture.member()
        _ = try await till.submit("F-1", member: member, amountMinor: 1_000)
        let platform = try await Api.platformOperator()
        let mallId = fixture.mall.id
        let counts: PostgresQuery = """
            SELECT (SELECT count(*) FROM journals WHERE mall_id = \(mallId)) + (SELECT count(*) FROM members WHERE mall_id = \(mallId))
                + (SELECT count(*) FROM merchants WHERE mall_id = \(mallId)) + (SELECT count(*) FROM orders WHERE mall_id = \(mallId))
                + (SELECT count(*) FROM campaigns WHERE mall_id = \(mallId)) + (SELECT count(*) FROM api_keys WHERE mall_id = \(mallId))
            """
        let db = Database(client: server.client, logger: server.logger)
        @Sendable func rows() async throws -> Int64 {
            try await db.withMall(mallId) { connection in
                var total: Int64 = 0
                for try await n in try await connection.query(counts, logger: server.logger).decode(Int64.self) { total = n }
                return total
            }
        }
        let before = try await rows()

        let methods = Atrium_V1_PlatformService.Method.descriptors + Atrium_V1_HeadquartersService.Method.descriptors
            + Atrium_V1_MemberService.Method.descriptors + Atrium_V1_MerchantService.Method.descriptors + [Grpc_Health_V1_Health.Method.Check.descriptor]
        let keys = [fixture.hq.metadata, till.metadata, platform.metadata, ["authorization": "Bearer atr_\(mallId)_garbage"]]
        let callsPerMethod = 48
        // Four callers at a time: the rest of the suite shares the machine.
        let workers = 4
        let failures = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<workers {
                group.addTask {
                  var failures: [String] = []
                  for (index, method) in methods.enumerated() where index % workers == worker {
                    var random = Random(state: UInt64(index) &* 7_919)
                    for call in 0..<callsPerMethod {
                        let bytes = Self.payload(&random)
                        let request = ClientRequest<[UInt8]>(message: bytes, metadata: keys[call % keys.count])
                        do {
                            _ = try await server.grpc.unary(
                                request: request, descriptor: method, serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
                            ) { response in try response.message }
                        } catch let error as RPCError where Self.forbidden.contains(error.code) {
                            failures.append("\(method.fullyQualifiedMethod) \(bytes.map { String(format: "%02x", $0) }.joined()): \(error.code) \(error.message)")
                        } catch is RPCError {}
                    }
                  }
                  return failures
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        #expect(try await rows() == before, "a random request wrote to the mall")
        #expect(try await fixture.ledgerViolations() == [])
        #expect(try await platform.health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving)
    }
}
