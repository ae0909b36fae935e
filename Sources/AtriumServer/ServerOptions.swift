import ArgumentParser
import Foundation
import Logging

/// `atriumd`'s flags, each with an environment fallback; shared by `atrium dev`.
public struct ServerOptions: ParsableArguments, Sendable {
    @Option(help: "gRPC listen host. Env: ATRIUM_HOST.")
    public var host: String?

    @Option(help: "gRPC listen port (default 50051). Env: ATRIUM_PORT.")
    public var port: Int?

    @Option(help: "External PostgreSQL URL, e.g. postgres://atrium:secret@db:5432/atrium?sslmode=require. Without it a private cluster is started. Env: ATRIUM_DATABASE_URL.")
    public var databaseURL: String?

    @Option(help: "The same database as the role that owns the tables, which runs the migrations; the server itself connects with --database-url as a role that owns nothing (deploy/db-roles.sql). Env: ATRIUM_OWNER_DATABASE_URL.")
    public var ownerDatabaseURL: String?

    @Flag(help: "The database is a Citus coordinator: its migrations distribute the tables by mall and sessions forward the mall setting to the shards (README, Citus). Env: ATRIUM_CITUS=1.")
    public var citus = false

    @Option(help: "Directory of the embedded cluster (default .atrium). Env: ATRIUM_DATA_DIR.")
    public var dataDir: String?

    @Option(help: "Port of the embedded cluster's private socket (default 54329). Env: ATRIUM_EMBEDDED_PORT.")
    public var embeddedPort: Int?

    @Option(help: "Platform operator key to accept: 'atrp_' and 40 letters or digits. Env: ATRIUM_PLATFORM_KEY.")
    public var platformKey: String?

    @Option(help: "Milliseconds an authenticated key is cached (default 5000). Env: ATRIUM_AUTH_CACHE_MS.")
    public var authCacheMs: Int64?

    @Option(help: "Failed authentications one client address may make in a minute before its calls are refused until the minute ends; 0 turns it off (default 60). Env: ATRIUM_AUTH_FAILURES_PER_MINUTE.")
    public var authFailuresPerMinute: Int?

    @Option(help: "PostgreSQL pool size (default 32). Env: ATRIUM_DB_CONNECTIONS.")
    public var dbConnections: Int?

    @Option(help: "Event loop threads of the PostgreSQL pool, apart from the gRPC server's (default 1). Env: ATRIUM_DB_THREADS.")
    public var dbThreads: Int?

    @Option(help: "Milliseconds merchant rules and campaigns are cached; changes made through another server apply within it (default 2000). Env: ATRIUM_RULES_CACHE_MS.")
    public var rulesCacheMs: Int64?

    @Option(help: "SubmitOrder batches recorded at once, each in one transaction on two connections of the pool (default 4). Env: ATRIUM_ORDER_LANES.")
    public var orderLanes: Int?

    @Option(help: "Seconds between sweeps that expire due points in every mall; 0 turns them off (default 60). Env: ATRIUM_EXPIRY_SWEEP_SECONDS.")
    public var expirySweepSeconds: Int?

    @Option(help: "PEM certificate chain for TLS; with --tls-key, the server speaks only TLS. Env: ATRIUM_TLS_CERT.")
    public var tlsCert: String?

    @Option(help: "PEM private key of the TLS certificate. Env: ATRIUM_TLS_KEY.")
    public var tlsKey: String?

    @Option(help: "Seconds a connection may carry no call before it is closed; 0 keeps it (default 300). Env: ATRIUM_CONNECTION_IDLE_SECONDS.")
    public var connectionIdleSeconds: Int?

    @Option(help: "Seconds a connection may live before clients are asked to reconnect; 0 keeps it (default 3600). Env: ATRIUM_CONNECTION_AGE_SECONDS.")
    public var connectionAgeSeconds: Int?

    @Option(help: "Seconds of quiet before the server pings a connection to see that its client is still there (default 60). Env: ATRIUM_KEEPALIVE_SECONDS.")
    public var keepaliveSeconds: Int?

    @Option(help: "Seconds in-flight calls may finish after SIGTERM before they are cancelled (default 10). Env: ATRIUM_SHUTDOWN_GRACE_SECONDS.")
    public var shutdownGraceSeconds: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info). Env: ATRIUM_LOG_LEVEL.")
    public var logLevel: String?

    public init() {}

    public func configuration() throws -> ServerConfiguration {
        let env = ProcessInfo.processInfo.environment
        var c = ServerConfiguration()
        c.host = host ?? env["ATRIUM_HOST"] ?? c.host
        if let port = try port ?? Self.int(env["ATRIUM_PORT"], "ATRIUM_PORT") { c.port = port }
        c.databaseURL = databaseURL ?? env["ATRIUM_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        c.ownerDatabaseURL = ownerDatabaseURL ?? env["ATRIUM_OWNER_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        guard c.ownerDatabaseURL == nil || c.databaseURL != nil else { throw ValidationError("owner-database-url goes with database-url") }
        c.citus = citus || env["ATRIUM_CITUS"] == "1"
        c.dataDirectory = dataDir ?? env["ATRIUM_DATA_DIR"] ?? c.dataDirectory
        if let port = try embeddedPort ?? Self.int(env["ATRIUM_EMBEDDED_PORT"], "ATRIUM_EMBEDDED_PORT") { c.embeddedPort = port }
        c.platformKey = platformKey ?? env["ATRIUM_PLATFORM_KEY"]
        if let ms = try authCacheMs ?? Self.int(env["ATRIUM_AUTH_CACHE_MS"], "ATRIUM_AUTH_CACHE_MS").map(Int64.init) { c.authCacheMilliseconds = ms }
        if let n = try authFailuresPerMinute ?? Self.int(env["ATRIUM_AUTH_FAILURES_PER_MINUTE"], "ATRIUM_AUTH_FAILURES_PER_MINUTE") { c.authFailuresPerMinuteMax = n }
        guard (0...100_000).contains(c.authFailuresPerMinuteMax) else { throw ValidationError("auth-failures-per-minute must be 0...100000") }
        if let n = try dbConnections ?? Self.int(env["ATRIUM_DB_CONNECTIONS"], "ATRIUM_DB_CONNECTIONS") { c.databaseConnectionsMax = n }
        if let n = try dbThreads ?? Self.int(env["ATRIUM_DB_THREADS"], "ATRIUM_DB_THREADS") { c.databaseThreads = n }
        if let ms = try rulesCacheMs ?? Self.int(env["ATRIUM_RULES_CACHE_MS"], "ATRIUM_RULES_CACHE_MS").map(Int64.init) { c.rulesCacheMilliseconds = ms }
        if let n = try orderLanes ?? Self.int(env["ATRIUM_ORDER_LANES"], "ATRIUM_ORDER_LANES") { c.orderLanes = n }
        if let n = try expirySweepSeconds ?? Self.int(env["ATRIUM_EXPIRY_SWEEP_SECONDS"], "ATRIUM_EXPIRY_SWEEP_SECONDS") { c.expirySweepSeconds = n }
        c.tlsCertificatePath = tlsCert ?? env["ATRIUM_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        c.tlsKeyPath = tlsKey ?? env["ATRIUM_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let n = try connectionIdleSeconds ?? Self.int(env["ATRIUM_CONNECTION_IDLE_SECONDS"], "ATRIUM_CONNECTION_IDLE_SECONDS") { c.connectionIdleSeconds = n == 0 ? nil : n }
        if let n = try connectionAgeSeconds ?? Self.int(env["ATRIUM_CONNECTION_AGE_SECONDS"], "ATRIUM_CONNECTION_AGE_SECONDS") { c.connectionAgeSeconds = n == 0 ? nil : n }
        if let n = try keepaliveSeconds ?? Self.int(env["ATRIUM_KEEPALIVE_SECONDS"], "ATRIUM_KEEPALIVE_SECONDS") { c.keepaliveSeconds = n }
        if let n = try shutdownGraceSeconds ?? Self.int(env["ATRIUM_SHUTDOWN_GRACE_SECONDS"], "ATRIUM_SHUTDOWN_GRACE_SECONDS") { c.shutdownGraceSeconds = n }
        if let level = logLevel ?? env["ATRIUM_LOG_LEVEL"] {
            guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("log level must be one of trace, debug, info, notice, warning, error, critical") }
            c.logLevel = parsed
        }
        guard (0...65535).contains(c.port) else { throw ValidationError("port must be 0...65535") }
        guard (1...1000).contains(c.databaseConnectionsMax) else { throw ValidationError("db-connections must be 1...1000") }
        guard (1...16).contains(c.databaseThreads) else { throw ValidationError("db-threads must be 1...16") }
        guard (0...86_400).contains(c.expirySweepSeconds) else { throw ValidationError("expiry-sweep-seconds must be 0...86400") }
        guard (c.tlsCertificatePath == nil) == (c.tlsKeyPath == nil) else { throw ValidationError("tls-cert and tls-key go together") }
        guard (c.connectionIdleSeconds ?? 1) >= 1, (c.connectionAgeSeconds ?? 1) >= 1 else {
            throw ValidationError("connection-idle-seconds and connection-age-seconds must be 0 (off) or more")
        }
        guard (1...3_600).contains(c.keepaliveSeconds) else { throw ValidationError("keepalive-seconds must be 1...3600") }
        guard (0...600).contains(c.shutdownGraceSeconds) else { throw ValidationError("shutdown-grace-seconds must be 0...600") }
        guard (0...60_000).contains(c.rulesCacheMilliseconds) else { throw ValidationError("rules-cache-ms must be 0...60000") }
        // A lane keeps two connections (see `LaneTransactions`) and leaves the rest to other calls.
        guard c.databaseConnectionsMax >= 2, (1...c.databaseConnectionsMax / 2).contains(c.orderLanes) else {
            throw ValidationError("order-lanes must be 1...db-connections / 2, and db-connections at least 2")
        }
        return c
    }

    static func int(_ text: String?, _ name: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name) must be a number") }
        return value
    }
}
