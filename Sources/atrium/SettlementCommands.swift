import ArgumentParser
import AtriumProto
import Foundation
import GRPCCore

struct Settlements: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settlement", abstract: "Settlement periods and statements (HQ).", subcommands: [Close.self, Statements.self, Export.self])

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close the period that ends at --end-unix-ms (default: now).")
        @OptionGroup var connection: ConnectionOptions
        @Option var endUnixMs: Int64?
        func run() async throws {
            let end = endUnixMs ?? Int64(Date().timeIntervalSince1970 * 1000)
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).closeSettlementPeriod(.with { $0.periodEndUnixMs = end }, metadata: metadata)
            })
        }
    }

    struct Statements: AsyncParsableCommand {
        @OptionGroup var connection: ConnectionOptions
        @Option var periodId: Int64
        func run() async throws {
            let request = Atrium_V1_ListStatementsRequest.with { $0.periodID = periodId; $0.pageSize = 500 }
            try printJSON(try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).listStatements(request, metadata: metadata)
            })
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a period's statements as CSV.")
        @OptionGroup var connection: ConnectionOptions
        @Option var periodId: Int64
        func run() async throws {
            let response = try await connection.withClient { client, metadata in
                try await Atrium_V1_HeadquartersService.Client(wrapping: client).exportStatements(.with { $0.periodID = periodId }, metadata: metadata)
            }
            FileHandle.standardOutput.write(Data(response.csv.utf8))
        }
    }
}
