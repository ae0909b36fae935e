import AtriumDomain
import AtriumProto
import AtriumStore
import AtriumTransport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Prepares the database (migrations under an advisory lock, the role check, the platform key)
/// and then serves gRPC until a graceful shutdown drains the in-flight calls.
public final class AtriumService: Service, Sendable {
    static let migrationRetryDelay: Duration = .seconds(1)
    static let migrationAttemptsMax = 60

    let configuration: ServerConfiguration
    let stores: Stores
    let client: PostgresClient
    /// How the migrations connect, as the tables' owner; nil: the schema must be current.
    let owner: PostgresClient.Configuration?
    let logger: Logger
    let services: [any RegistrableRPCService]
    let interceptors: [any ServerInterceptor]
    /// Begins the running server's graceful shutdown; set while it serves.
    private let stopServing = Mutex<(@Sendable () -> Void)?>(nil)
    let onReady: @Sendable (Int) async -> Void
    let drain: DrainSignal
    let health: HealthMonitor
    /// nil when sweeps are off (`ServerConfiguration.expirySweepSeconds` 0).
    let sweeper: ExpirySweeper?

    /// - Parameter onReady: called with the bound port once the server listens.
    public init(
        configuration: ServerConfiguration, client: PostgresClient, owner: PostgresClient.Configuration?, logger: Logger,
        now: @escaping @Sendable () -> Int64 = AtriumService.wallClockMilliseconds, onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.onReady = onReady
        let drain = DrainSignal()
        self.drain = drain
        self.client = client
        self.owner = owner
        self.logger = logger
        let stores = Stores(
            client: client, orderLanes: configuration.orderLanes, rulesCacheMilliseconds: configuration.rulesCacheMilliseconds, citus: configuration.citus,
            logger: logger)
        self.stores = stores
        let authenticator = Authenticator(
            credentials: stores.credentials, cacheTTLMilliseconds: configuration.authCacheMilliseconds,
            limiter: AuthFailureLimiter(failuresMax: configuration.authFailuresPerMinuteMax), now: now)
        let health = HealthMonitor(db: stores.db, logger: logger)
        self.health = health
        services = [
            PlatformServiceHandler(malls: stores.malls, platformKeys: stores.platformKeys, authenticator: authenticator),
            HeadquartersServiceHandler(
                merchants: stores.merchants, credentials: stores.credentials, rules: stores.rules, ledger: stores.ledger, expiry: stores.expiry,
                settlement: stores.settlement, coupons: stores.coupons, rewards: stores.rewards, authenticator: authenticator, now: now),
            MemberServiceHandler(members: stores.members, ledger: stores.ledger, holds: stores.holds, coupons: stores.coupons, rewards: stores.rewards, now: now),
            MerchantServiceHandler(orders: stores.orders, settlement: stores.settlement, coupons: stores.coupons, rewards: stores.rewards, now: now),
            HealthServiceHandler(drain: drain, databaseIsUp: { [health] in health.databaseIsUp }),
        ]
        interceptors = [AuthInterceptor(authenticator: authenticator, logger: logger)]
        sweeper = configuration.expirySweepSeconds == 0 ? nil : ExpirySweeper(
            malls: stores.malls, expiry: stores.expiry, leases: stores.jobLeases, interval: .seconds(configuration.expirySweepSeconds), now: now,
            logger: logger)
    }

    public static let wallClockMilliseconds: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public func run() async throws {
        try await prepareDatabase()
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.host, port: configuration.port), transportSecurity: try transportSecurity(),
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = Limits.requestPayloadBytesMax
                config.http2.maxConcurrentStreams = Limits.concurrentStreamsMax
                config.connection.maxIdleTime = configuration.connectionIdleSeconds.map { .seconds($0) }
                config.connection.maxAge = configuration.connectionAgeSeconds.map { .seconds($0) }
                config.connection.maxGraceTime = .seconds(configuration.shutdownGraceSeconds)
                config.connection.keepalive.time = .seconds(configuration.keepaliveSeconds)
                config.connection.keepalive.timeout = .seconds(configuration.keepaliveTimeoutSeconds)
            })
        try await serve(GRPCServer(transport: transport, services: services, interceptors: interceptors)) {
            guard let address = try await transport.listeningAddress.ipv4 else { throw ConfigurationError("not listening on IPv4") }
            return address.port
        }
    }

    /// TLS from the configured PEM files, or plaintext when none are configured.
    func transportSecurity() throws -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath else { return .plaintext }
        for path in [certificate, key] where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigurationError("cannot read the TLS file \(path)")
        }
        return .tls(certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem))
    }

    private enum Ended { case served, announced, graceOver }

    /// Serves until a graceful shutdown: the server then takes no new calls and lets those in
    /// flight finish for `shutdownGraceSeconds`, after which they are cancelled and the
    /// connections closed.
    private func serve<Transport: ServerTransport>(_ server: GRPCServer<Transport>, port: @escaping @Sendable () async throws -> Int) async throws {
        stopServing.withLock { $0 = { server.beginGracefulShutdown() } }
        let grace = Duration.seconds(configuration.shutdownGraceSeconds)
        try await withGracefulShutdownHandler {
            // The sweeper and the health probe run beside the server and stop with it, before the
            // pool does.
            try await withThrowingTaskGroup(of: Ended.self) { group in
                if let sweeper { group.addTask { await sweeper.run(); return .announced } }
                group.addTask { [health] in
                    await health.run()
                    return .announced
                }
                group.addTask { try await server.serve(); return .served }
                group.addTask {
                    let port = try await port()
                    self.logger.info("serving gRPC", metadata: ["host": "\(self.configuration.host)", "port": "\(port)"])
                    await self.onReady(port)
                    return .announced
                }
                group.addTask {
                    try await self.drain.waitUntilDraining()
                    try await Task.sleep(for: grace)
                    self.logger.warning("shutdown grace over: cancelling the calls still in flight")
                    return .graceOver
                }
                while let ended = try await group.next() {
                    if case .announced = ended { continue }
                    group.cancelAll()
                    return
                }
            }
        } onGracefulShutdown: {
            self.logger.info("draining in-flight calls")
            self.drain.begin()
            self.stopServing.withLock { $0 }?()
        }
    }

    /// Migrates as the tables' owner (waiting for the database to come up), checks that the
    /// server's own role is an ordinary one (no superuser or BYPASSRLS, owner of no table, the
    /// schema current), and registers the configured platform key.
    func prepareDatabase() async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let role = try await runtimeRole()
                if let owner {
                    _ = try await Self.withClient(owner, logger: logger) { ownerClient in
                        try await Migrator(client: ownerClient, logger: self.logger).migrate(grantingTo: role)
                    }
                }
                break
            } catch let error as ConfigurationError {
                throw error
            } catch {
                guard attempt < Self.migrationAttemptsMax, !Task.isShuttingDownGracefully else { throw error }
                logger.warning("database not ready; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try await Task.sleep(for: Self.migrationRetryDelay)
            }
        }
        try await checkRuntimeRole()
        try await checkCitus()
        if let key = configuration.platformKey {
            guard Keys.parse(key) == .platform else { throw ConfigurationError("platform key must be 'atrp_' and \(Keys.secretLength) letters and digits") }
            if try await !stores.platformKeys.bootstrap(token: key, label: "configured platform key") {
                logger.warning("the configured platform key is not registered: it bootstraps only the first key; use one created with CreatePlatformKey")
            }
        }
    }

    /// `--citus` and the database agree: on Citus without it, row-level security on the shards
    /// would never see the mall setting; with it on plain PostgreSQL, plans are made per call.
    private func checkCitus() async throws {
        let citus = try await client.withConnection { connection in try await CitusDistribution.isAvailable(on: connection, logger: logger) }
        if citus && !configuration.citus { throw ConfigurationError("the database has the citus extension: start with --citus (ATRIUM_CITUS=1)") }
        if !citus && configuration.citus { throw ConfigurationError("--citus was given but the database has no citus extension") }
    }

    /// The role the pool connects as.
    private func runtimeRole() async throws -> String {
        var role = ""
        for try await name in try await client.query("SELECT current_user::text", logger: logger).decode(String.self) { role = name }
        guard RuntimePrivileges.isPlainIdentifier(role) else { throw ConfigurationError("the database role name must be letters, digits and underscores") }
        return role
    }

    /// Least privilege, checked rather than trusted: the server refuses to run as a role that
    /// could step around row-level security or rewrite the ledger.
    private func checkRuntimeRole() async throws {
        let sql: PostgresQuery = """
            SELECT r.rolsuper OR r.rolbypassrls, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)::int,
                to_regclass('public.schema_migrations') IS NOT NULL
            FROM pg_roles r WHERE r.rolname = current_user
            """
        for try await (bypasses, ownedTables, migrated) in try await client.query(sql, logger: logger).decode((Bool, Int, Bool).self) {
            if bypasses {
                throw ConfigurationError("the database role bypasses row-level security (superuser or BYPASSRLS): connect as an ordinary role")
            }
            if ownedTables > 0 {
                throw ConfigurationError(
                    "the database role owns \(ownedTables) tables and could alter them: connect as a role that owns nothing, and give the owner's URL as --owner-database-url (deploy/db-roles.sql)")
            }
            guard migrated else { throw ConfigurationError("the schema does not exist: start once with --owner-database-url to create it") }
        }
        var version: Int32 = 0
        for try await value in try await client.query("SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger).decode(Int32.self) { version = value }
        let needed = Migration.all.map(\.version).max() ?? 0
        guard version >= needed else {
            throw ConfigurationError("the schema is at version \(version) and this server needs \(needed): start once with --owner-database-url to migrate it")
        }
    }

    /// A pool of the owner's for the migrations, run only while `body` runs.
    static func withClient<T: Sendable>(_ configuration: PostgresClient.Configuration, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        var configuration = configuration
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
