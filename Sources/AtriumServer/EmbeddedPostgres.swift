import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO

/// A private PostgreSQL cluster in a directory of our own, reached over a Unix socket on a
/// non-default port. `atriumd` starts one when it is given no database URL; the tests start one
/// per run. As root, initdb and pg_ctl run as the `postgres` OS user (they refuse root).
public struct EmbeddedPostgres: Sendable {
    public struct Options: Sendable {
        public var directory: String
        public var port: Int
        /// Off for tests: fsync and synchronous commit cost durability the tests do not need.
        public var durable: Bool
        /// More server settings, `name=value` each (a Citus node's `shared_preload_libraries`).
        public var settings: [String]

        public init(directory: String, port: Int = 54329, durable: Bool = true, settings: [String] = []) {
            self.directory = directory
            self.port = port
            self.durable = durable
            self.settings = settings
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case binariesNotFound
        case commandFailed(String, Int32, String)

        public var description: String {
            switch self {
            case .binariesNotFound:
                "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install Debian's package: apt-get install -y postgresql"
            case .commandFailed(let command, let status, let output):
                "\(command) exited with \(status): \(output)"
            }
        }
    }

    /// The role the server connects as: not a superuser, owner of nothing, granted only
    /// `RuntimePrivileges`, so row-level security applies and history cannot be rewritten.
    public static let applicationRole = "atrium"
    /// The role that owns the database and its tables and runs the migrations.
    public static let ownerRole = "atrium_owner"
    public static let applicationDatabase = "atrium"

    public let options: Options
    public let binDirectory: String
    let logger: Logger

    public var dataDirectory: String { options.directory + "/data" }
    public var socketDirectory: String { options.directory + "/socket" }
    var logFile: String { options.directory + "/postgres.log" }
    static var isRoot: Bool { geteuid() == 0 }

    public init(options: Options, logger: Logger) throws {
        guard let bin = Self.findBinaries() else { throw Failure.binariesNotFound }
        self.options = options
        self.binDirectory = bin
        self.logger = logger
    }

    /// The newest /usr/lib/postgresql/N/bin with initdb, else initdb on PATH.
    static func findBinaries() -> String? {
        let fm = FileManager.default
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") where fm.isExecutableFile(atPath: "\(dir)/initdb") {
            return String(dir)
        }
        return nil
    }

    /// Initializes the cluster if needed, starts it, and creates the application role and database.
    public func start() async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if Self.isRoot { try run("/bin/chown", ["-R", "postgres:postgres", options.directory], asPostgres: false) }
        if !fm.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            logger.info("initializing private PostgreSQL cluster", metadata: ["directory": "\(dataDirectory)"])
            try run(binDirectory + "/initdb", ["-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"])
        }
        if isRunning() {
            logger.info("private PostgreSQL already running", metadata: ["port": "\(options.port)"])
        } else {
            // wal_init_zero off: a new 16 MB WAL segment is not written full of zeros first. A
            // young cluster has no old segments to recycle, so at 2,000 orders/s it created one
            // every 3 s, writing the zeros while every commit waited (35 ms). PostgreSQL offers the
            // setting for file systems that gain nothing from it; durability does not depend on it.
            //
            // Autovacuum keeps PostgreSQL's one-minute nap. At 5 s (tried, for statistics soon after
            // a bulk import) it vacuumed and analysed every young ledger table every 5 s, about a
            // second of work each time, while a production mall's large tables qualify only every
            // several minutes (measured: p99 27 -> 23 ms). Right after a 100,000-member import,
            // before any analysis, the till's member look-up still used its keys' indexes.
            let settings = "-k \(socketDirectory) -p \(options.port) -c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB"
                + " -c wal_init_zero=off"
                + (options.durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
                + options.settings.map { " -c \($0)" }.joined()
            try run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-l", logFile, "-o", settings, "-w", "-t", "60", "start"])
        }
        try await createApplicationRole()
    }

    /// `immediately`: as a crash would (no checkpoint; recovery at the next start).
    public func stop(immediately: Bool = false) {
        do {
            try run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", immediately ? "immediate" : "fast", "-w", "stop"])
        } catch {
            logger.warning("stopping PostgreSQL failed", metadata: ["error": "\(error)"])
        }
    }

    func isRunning() -> Bool {
        (try? run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"])) != nil
    }

    /// How the server connects: over the socket, as the non-superuser application role.
    public func clientConfiguration(database: String = EmbeddedPostgres.applicationDatabase) -> PostgresClient.Configuration {
        PostgresClient.Configuration(unixSocketPath: socketPath, username: Self.applicationRole, password: nil, database: database)
    }

    /// How migrations connect: as the owner of the database and its tables.
    public func ownerConfiguration(database: String = EmbeddedPostgres.applicationDatabase) -> PostgresClient.Configuration {
        PostgresClient.Configuration(unixSocketPath: socketPath, username: Self.ownerRole, password: nil, database: database)
    }

    public var socketPath: String { "\(socketDirectory)/.s.PGSQL.\(options.port)" }

    /// The two roles and the database, owned by the owner. A cluster made before the roles were
    /// split (the application role owned everything) is handed to the owner, whose migrations
    /// then grant the application role only its privileges.
    func createApplicationRole() async throws {
        let connection = try await superuserConnection(database: "postgres")
        defer { Task { try? await connection.close() } }
        for role in [Self.ownerRole, Self.applicationRole] {
            var exists = false
            for try await _ in try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = \(role)", logger: logger) { exists = true }
            if !exists {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(role) LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE"), logger: logger)
            }
        }
        let database = Self.applicationDatabase
        var owner: String?
        for try await name in try await connection.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = \(database)", logger: logger).decode(String.self) {
            owner = name
        }
        switch owner {
        case nil:
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database) OWNER \(Self.ownerRole)"), logger: logger)
        case Self.ownerRole?:
            break
        default:
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(database) OWNER TO \(Self.ownerRole)"), logger: logger)
            let inDatabase = try await superuserConnection(database: database)
            defer { Task { try? await inDatabase.close() } }
            try await inDatabase.query(PostgresQuery(unsafeSQL: "REASSIGN OWNED BY \(Self.applicationRole) TO \(Self.ownerRole)"), logger: logger)
        }
    }

    /// Runs `body` on a superuser connection that is closed afterwards, whatever `body` does.
    @discardableResult
    func withSuperuserConnection<T>(database: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await superuserConnection(database: database)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    func superuserConnection(database: String) async throws -> PostgresConnection {
        let config = PostgresConnection.Configuration(unixSocketPath: socketPath, username: "postgres", password: nil, database: database)
        return try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
    }

    /// Creates a fresh database owned by the owner role (tests use one per suite).
    public func createDatabase(_ name: String) async throws {
        let connection = try await superuserConnection(database: "postgres")
        defer { Task { try? await connection.close() } }
        precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "database names are ours")
        try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name)"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(Self.ownerRole)"), logger: logger)
    }

    /// Runs a command to completion with posix_spawn and waitpid. (Foundation's Process was seen
    /// to leave a finished child unreaped and wait forever when many tasks run at once.) Output
    /// goes to a file, not a pipe: the postmaster that `pg_ctl start` leaves behind would inherit
    /// a pipe and hold it open.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) throws -> String {
        // `env -C /`: the postgres user may not be allowed into our working directory.
        let command = asPostgres && Self.isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let argv = ["/usr/bin/env", "-C", "/"] + command
        let outputPath = options.directory + "/command.out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw Failure.commandFailed(argv.joined(separator: " "), spawned, "could not start") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw Failure.commandFailed(argv.joined(separator: " "), errno, "waitpid failed") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Failure.commandFailed(argv.joined(separator: " "), exited ? code : -1, text)
        }
        return text
    }
}
