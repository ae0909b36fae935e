import Foundation
import NIOSSL
import PostgresNIO

/// Parses `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`,
/// or a Unix socket: `postgres://user@/database?host=/path/to/socket/dir[&port=5432]`.
public enum DatabaseURL {
    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw ConfigurationError("database URL must start with postgres:// or postgresql://")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let user = url.user ?? "atrium"
        let password = url.password
        let database = url.path.hasPrefix("/") && url.path.count > 1 ? String(url.path.dropFirst()) : user
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = Int(query["port"] ?? "") ?? url.port ?? 5432
            return PostgresClient.Configuration(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        guard let host = url.host, !host.isEmpty else { throw ConfigurationError("database URL names no host") }
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw ConfigurationError("sslmode must be disable, prefer or require")
        }
        return PostgresClient.Configuration(host: host, port: url.port ?? 5432, username: user, password: password, database: database, tls: tls)
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
