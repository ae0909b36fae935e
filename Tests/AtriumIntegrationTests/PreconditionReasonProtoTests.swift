import AtriumDomain
import AtriumProto
import AtriumTransport
import GRPCCore
import GRPCProtobuf
import Testing

/// The proto's `PreconditionReason` lists exactly the domain's reasons, under the same numbers
/// and names, and a refusal carries its reason where clients look for it.
@Suite("Refusal reasons in the proto and on the wire")
struct PreconditionReasonProtoTests {
    @Test func theProtoListsEveryReasonUnderItsNumberAndName() {
        #expect(Atrium_V1_PreconditionReason.allCases.count == PreconditionReason.allCases.count + 1, "one more: UNSPECIFIED")
        for reason in PreconditionReason.allCases {
            let proto = Atrium_V1_PreconditionReason(rawValue: Int(reason.rawValue))
            #expect(proto.map { String(describing: $0) } == String(describing: reason), "\(reason)")
        }
    }

    @Test func aRefusalCarriesItsReasonAsErrorInfo() throws {
        let error = RPCError(DomainError.failedPrecondition(.memberFrozen, "member M1 is frozen"))
        #expect(error.code == .failedPrecondition && error.message == "member M1 is frozen")
        let status = try #require(try error.unpackGoogleRPCStatus())
        #expect(status.code == .failedPrecondition && status.message == "member M1 is frozen")
        #expect(status.details.compactMap(\.errorInfo).map { [$0.reason, $0.domain] } == [["MEMBER_FROZEN", "atrium.v1"]])
        #expect(try RPCError(DomainError.notFound("member")).unpackGoogleRPCStatus() == nil, "other statuses carry no details")
    }
}
