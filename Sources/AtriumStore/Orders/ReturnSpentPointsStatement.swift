import AtriumDomain
import Foundation
import PostgresNIO

/// What paid an order with points, lot by lot (`spend_draws`), and the database's clock for the
/// refund that gives them back: a lot lives while its expiry is after that instant.
struct SpendDrawsStatement: PostgresPreparedStatement {
    /// (lot id, funder kind, funder id, points, returned, lot expires at, now).
    typealias Row = (Int64, Int16, Int64, Int64, Int64, Int64?, Int64)

    static let sql = """
        SELECT d.lot_id, d.funder_kind, d.funder_id, d.points, d.returned_points, epoch_ms(l.expires_at), epoch_ms(now())
        FROM spend_draws d JOIN lots l ON l.mall_id = d.mall_id AND l.id = d.lot_id
        WHERE d.mall_id = $1 AND l.mall_id = $1 AND d.order_id = $2
        ORDER BY d.lot_id
        """

    var mallId: Int64
    var orderId: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(mallId); bindings.append(orderId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// A refund's return of paid points, prepared: a call of `return_spent_points` (migration 23),
/// which puts the points back into their lots or new ones, posts the return journal, raises the
/// member's balance and the order's returned total. The caller holds the order's and the
/// member's locks.
struct ReturnSpentPointsStatement: PostgresPreparedStatement {
    /// The postings written.
    typealias Row = Int32

    static let sql = "SELECT return_spent_points($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"

    var mallId: Int64
    var orderId: Int64
    var memberId: Int64
    var merchantId: Int64
    var points: Int64
    var journalKind: Int16
    var description: String
    var linesJSON: String
    var postingSeqs: [Int16]
    var postingKinds: [Int16]
    var postingOwners: [Int64]
    var postingPoints: [Int64]
    var restoreLotIds: [Int64]
    var restorePoints: [Int64]
    var newLotFunderKinds: [Int16]
    var newLotFunderIds: [Int64]
    var newLotPoints: [Int64]
    var newLotsExpireAtMilliseconds: Int64
    var lotSource: Int16
    var drawLotIds: [Int64]
    var drawReturnedPoints: [Int64]

    init(mallId: Int64, order: (id: Int64, number: String, memberId: Int64, merchantId: Int64), refundId: String, plan: SpendReturnPlan) {
        let journal = Journal.spendReturn(memberId: order.memberId, merchantId: order.merchantId, points: plan.points)
        let line = StoredEarnLine(rule: "spend_return", description: "refund \(refundId) gave back points that paid", points: plan.points, funder: "")
        self.mallId = mallId
        orderId = order.id
        memberId = order.memberId
        merchantId = order.merchantId
        points = plan.points
        journalKind = journal.kind.rawValue
        description = "points of order \(order.number) given back by refund \(refundId)"
        linesJSON = JSONText.array([line])
        postingSeqs = journal.postings.indices.map { Int16($0) }
        postingKinds = journal.postings.map(\.account.kind)
        postingOwners = journal.postings.map(\.account.ownerId)
        postingPoints = journal.postings.map(\.points)
        restoreLotIds = plan.restores.map(\.lotId)
        restorePoints = plan.restores.map(\.points)
        newLotFunderKinds = plan.newLots.map(\.funder.kind)
        newLotFunderIds = plan.newLots.map(\.funder.ownerId)
        newLotPoints = plan.newLots.map(\.points)
        newLotsExpireAtMilliseconds = plan.newLotsExpireAtMilliseconds
        lotSource = LotRows.Source.returned.rawValue
        drawLotIds = plan.returnedByDraw.map(\.lotId)
        drawReturnedPoints = plan.returnedByDraw.map(\.points)
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 21)
        bindings.append(mallId); bindings.append(orderId); bindings.append(memberId); bindings.append(merchantId); bindings.append(points)
        bindings.append(journalKind); bindings.append(description); bindings.append(linesJSON)
        bindings.append(postingSeqs); bindings.append(postingKinds); bindings.append(postingOwners); bindings.append(postingPoints)
        bindings.append(restoreLotIds); bindings.append(restorePoints)
        bindings.append(newLotFunderKinds); bindings.append(newLotFunderIds); bindings.append(newLotPoints); bindings.append(newLotsExpireAtMilliseconds)
        bindings.append(lotSource); bindings.append(drawLotIds); bindings.append(drawReturnedPoints)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
