import AtriumServer
import ArgumentParser
import Foundation
import Logging

/// The Atrium server. With no database URL it starts its own private PostgreSQL cluster.
@main
struct Atriumd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atriumd",
        abstract: "Atrium loyalty and clearing server (gRPC over PostgreSQL).",
        discussion: "Every option can also come from the environment variable named in its help.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.configuration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = Logger(label: "atriumd")
        do {
            try await AtriumApplication.run(configuration, logger: logger)
        } catch {
            logger.critical("atriumd stopped", metadata: ["error": "\(String(reflecting: error))"])
            throw ExitCode.failure
        }
    }
}
