import ArgumentParser
import AtriumProto
import AtriumServer
import AtriumStore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// `atrium dev`: the embedded default. Starts a private PostgreSQL cluster and the server, seeds
/// a demo mall through the public API, prints the keys, and serves until Ctrl-C.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a local Atrium with its own PostgreSQL and demo data.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        var configuration = try options.configuration()
        if options.dataDir == nil && ProcessInfo.processInfo.environment["ATRIUM_DATA_DIR"] == nil {
            configuration.dataDirectory = ".atrium/dev"
        }
        let platformKey = try configuration.platformKey ?? Self.platformKey(in: configuration.dataDirectory)
        configuration.platformKey = platformKey
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "atrium-dev")
        try await AtriumApplication.run(configuration, logger: logger) { port in
            do {
                let summary = try await DemoData.seed(port: port, platformKey: platformKey)
                // Unbuffered, so a script reading our output sees the keys at once.
                FileHandle.standardOutput.write(Data((summary + "\n").utf8))
            } catch {
                logger.error("seeding demo data failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The dev platform key, kept in the data directory (readable by its owner only).
    static func platformKey(in directory: String) throws -> String {
        let path = directory + "/platform-key"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return existing
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = AtriumStore.Keys.platformToken()
        _ = FileManager.default.createFile(atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        return key
    }
}
