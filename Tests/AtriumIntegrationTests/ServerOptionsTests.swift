import AtriumServer
import Testing

@Suite("atriumd's options are checked before anything starts")
struct ServerOptionsTests {
    @Test func databaseThreadsDefaultToOneAndStayWithinTheirRange() throws {
        #expect(try ServerOptions.parse([]).configuration().databaseThreads == 1)
        #expect(try ServerOptions.parse(["--db-threads", "4"]).configuration().databaseThreads == 4)
        for bad in ["0", "17"] {
            #expect(throws: (any Error).self) { try ServerOptions.parse(["--db-threads", bad]).configuration() }
        }
        #expect(throws: (any Error).self) { try ServerOptions.parse(["--db-threads", "many"]) }
    }

    @Test func theFrameTransportIsTheDefaultAndNioTheAlternative() throws {
        #expect(try ServerOptions.parse([]).configuration().transport == .frames)
        #expect(try ServerOptions.parse(["--transport", "nio"]).configuration().transport == .nio)
        #expect(throws: (any Error).self) { try ServerOptions.parse(["--transport", "h3"]).configuration() }
    }

    /// Each SubmitOrder lane keeps two pooled connections.
    @Test func orderLanesTakeAtMostHalfThePool() throws {
        #expect(try ServerOptions.parse([]).configuration().orderLanes == 4)
        #expect(try ServerOptions.parse(["--db-connections", "4", "--order-lanes", "2"]).configuration().orderLanes == 2)
        for (connections, lanes) in [("4", "3"), ("1", "1"), ("8", "0")] {
            #expect(throws: (any Error).self) { try ServerOptions.parse(["--db-connections", connections, "--order-lanes", lanes]).configuration() }
        }
    }

    @Test func expirySweepsRunEveryMinuteByDefaultAndZeroTurnsThemOff() throws {
        #expect(try ServerOptions.parse([]).configuration().expirySweepSeconds == 60)
        #expect(try ServerOptions.parse(["--expiry-sweep-seconds", "0"]).configuration().expirySweepSeconds == 0)
        for bad in ["-1", "86401"] {
            #expect(throws: (any Error).self) { try ServerOptions.parse(["--expiry-sweep-seconds", bad]).configuration() }
        }
    }
}
