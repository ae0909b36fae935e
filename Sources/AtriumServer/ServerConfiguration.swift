import Logging

/// Everything `atriumd` can be told, from flags or the environment (see `atriumd --help`).
public struct ServerConfiguration: Sendable {
    /// gRPC listen address.
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 50051
    /// An external PostgreSQL; nil starts the embedded private cluster.
    public var databaseURL: String?
    /// Where the embedded cluster keeps its data, socket and log.
    public var dataDirectory = ".atrium"
    /// The embedded cluster's port (on its private Unix socket only).
    public var embeddedPort = 54329
    /// Off only for tests and benchmarks of the embedded cluster.
    public var embeddedDurable = true
    /// A platform operator key to accept ("atrp_" and 40 characters); registered at start-up.
    public var platformKey: String?
    /// How long an authenticated key is trusted without asking the database.
    public var authCacheMilliseconds: Int64 = 5_000
    /// Size of the PostgreSQL connection pool.
    public var databaseConnectionsMax = 32
    /// Event loop threads of the pool, apart from the gRPC server's (see `AtriumApplication.databaseClient`).
    public var databaseThreads = 1
    /// How long merchant rules and campaigns are cached (see `RulesCache`); 0 reads them per batch.
    public var rulesCacheMilliseconds: Int64 = 2_000
    /// SubmitOrder batches in flight at once (see `OrderBatcher`); each holds a connection.
    public var orderLanes = 4
    /// Seconds between the expiry sweeps over every mall (`ExpirySweeper`); 0 turns them off.
    public var expirySweepSeconds = 60
    public var logLevel: Logger.Level = .info
    public var transport: Transport = .frames

    /// The HTTP/2 transport gRPC is served over.
    public enum Transport: String, Sendable, CaseIterable {
        /// `FrameServerTransport`: a connection's frames handled on its event loop.
        case frames
        /// grpc-swift's `HTTP2ServerTransport.Posix`: a stream channel per RPC; keepalive and
        /// idle timeouts, at about 40 % more server CPU per call.
        case nio
    }

    public init() {}
}
