import ArgumentParser

/// The command-line client for operators, HQ and merchants, and `atrium dev`.
@main
struct Atrium: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrium",
        abstract: "Atrium command-line client.",
        discussion: "Calls a running atriumd over gRPC with the key in --key or ATRIUM_KEY. `atrium dev` starts a local server with demo data.",
        subcommands: [Dev.self, Malls.self, Merchants.self, Keys.self, Members.self, Holds.self, CouponTemplates.self, Coupons.self, Rewards.self, Orders.self, Settlements.self, Health.self])
}
