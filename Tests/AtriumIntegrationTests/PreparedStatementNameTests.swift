import PostgresNIO
import Testing
@testable import AtriumStore

@Suite("Prepared statements keep apart on the server")
struct PreparedStatementNameTests {
    /// PostgreSQL cuts names at 63 bytes: two statements whose names differ only after that would
    /// share one name on a connection, and the second to be prepared would fail every call.
    @Test func everyNameIsDistinctWithinPostgreSQLsLimit() {
        let names: [String] = [
            MemberBalanceStatement.name, RefundsOfOrdersStatement.name, ExistingOrdersStatement.name,
            MerchantContextsStatement.name, CampaignsStatement.name, LockBudgetsStatement.name, RecordOrdersStatement.name,
            RecordRefundStatement.name, RefundsForRefundStatement.name, ClawbackLotsStatement.name,
            OrdersPageStatement<AllOrdersOfMerchant>.name, OrdersPageStatement<OrdersOfMember>.name,
            MembersForEarningStatement<ForUpdate>.name, MembersForEarningStatement<NoLock>.name,
            OrderStatement<OrderById, NoLock>.name, OrderStatement<OrderById, ForUpdate>.name,
            OrderStatement<OrderByNumber, NoLock>.name, OrderStatement<OrderByNumber, ForUpdate>.name,
        ]
        let longest = names.max { $0.utf8.count < $1.utf8.count }
        #expect(names.allSatisfy { $0.utf8.count <= 63 }, "too long: \(longest ?? "")")
        #expect(Set(names).count == names.count)
        #expect(OrderStatement<OrderByNumber, ForUpdate>.name == "OrderStatement<OrderByNumber, ForUpdate>")
    }
}
