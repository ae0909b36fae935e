import Logging
import NIOCore

/// Everything `atriumd` can be told, from flags or the environment (see `atriumd --help`).
public struct ServerConfiguration: Sendable {
    /// gRPC listen address.
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 50051
    /// An external PostgreSQL, as the server's own role (granted `RuntimePrivileges`); nil
    /// starts the embedded private cluster.
    public var databaseURL: String?
    /// The same database as the role that owns the tables, for the migrations; nil with an
    /// external database: the schema must be current already (the server cannot migrate it).
    public var ownerDatabaseURL: String?
    /// The database is a Citus coordinator (`CitusDistribution`, `Database.sessionParameters`);
    /// the server refuses to start when this and the database disagree.
    public var citus = false
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
    /// Failed authentications one client address may make in a minute before its calls are
    /// refused for the rest of it (`AuthFailureLimiter`); 0 turns the limit off.
    public var authFailuresPerMinuteMax = 60
    /// Size of the PostgreSQL connection pool.
    public var databaseConnectionsMax = 32
    /// Event loop threads of the pool, apart from the gRPC server's (see `AtriumApplication.databaseClient`).
    public var databaseThreads = 1
    /// How long merchant rules and campaigns are cached (see `RulesCache`); 0 reads them per batch.
    public var rulesCacheMilliseconds: Int64 = 2_000
    /// SubmitOrder batches in flight at once (see `OrderBatcher`); each holds two connections.
    /// One a core, between 2 and 4: on 2 cores, 16 malls with 2 tills each recorded 1.3-1.4 × as
    /// many orders with 2 lanes as with 4, and 8 did worse still (deploy/PERFORMANCE.md).
    public var orderLanes = max(2, min(4, System.coreCount))
    /// Seconds between the expiry sweeps over every mall (`ExpirySweeper`); 0 turns them off.
    public var expirySweepSeconds = 60
    public var logLevel: Logger.Level = .info
    /// PEM certificate chain and private key for TLS; both or neither (plaintext).
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// How long a connection may carry no call before the server closes it; nil keeps it.
    public var connectionIdleSeconds: Int? = 300
    /// How long a connection may live before the server asks the client to reconnect, so load
    /// spreads over servers started later; nil keeps it.
    public var connectionAgeSeconds: Int? = 3_600
    /// Seconds of quiet on a connection before the server pings it, and for the answer: a
    /// client that vanished without closing its socket is noticed and dropped.
    public var keepaliveSeconds = 60
    public var keepaliveTimeoutSeconds = 20
    /// On SIGTERM or SIGINT the server stops taking calls and lets those in flight finish for
    /// this long; whatever is still running then is cancelled and the connections close.
    public var shutdownGraceSeconds = 10

    public init() {}
}
