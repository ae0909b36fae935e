import AtriumServer
import NIOCore
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

    @Test func tlsNeedsBothCertificateAndKey() throws {
        let both = try ServerOptions.parse(["--tls-cert", "/c.pem", "--tls-key", "/k.pem"]).configuration()
        #expect(both.tlsCertificatePath == "/c.pem" && both.tlsKeyPath == "/k.pem")
        #expect(try ServerOptions.parse([]).configuration().tlsCertificatePath == nil)
        #expect(throws: (any Error).self) { try ServerOptions.parse(["--tls-cert", "/c.pem"]).configuration() }
        #expect(throws: (any Error).self) { try ServerOptions.parse(["--tls-key", "/k.pem"]).configuration() }
    }

    @Test func connectionLimitsHaveDefaultsAndZeroTurnsIdleAndAgeOff() throws {
        let defaults = try ServerOptions.parse([]).configuration()
        #expect(defaults.connectionIdleSeconds == 300 && defaults.connectionAgeSeconds == 3_600)
        #expect(defaults.keepaliveSeconds == 60 && defaults.shutdownGraceSeconds == 10)
        let off = try ServerOptions.parse(["--connection-idle-seconds", "0", "--connection-age-seconds", "0"]).configuration()
        #expect(off.connectionIdleSeconds == nil && off.connectionAgeSeconds == nil)
        for bad in [["--keepalive-seconds", "0"], ["--shutdown-grace-seconds", "601"], ["--connection-idle-seconds", "-1"]] {
            #expect(throws: (any Error).self) { try ServerOptions.parse(bad).configuration() }
        }
    }

    /// Each SubmitOrder lane keeps two pooled connections; by default one a core, 2 to 4.
    @Test func orderLanesTakeAtMostHalfThePool() throws {
        #expect(try ServerOptions.parse([]).configuration().orderLanes == min(4, max(2, System.coreCount)))
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
