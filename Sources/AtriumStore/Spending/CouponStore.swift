import AtriumDomain
import Logging
import PostgresNIO

/// A coupon template as stored.
public struct CouponTemplateRow: Sendable, Equatable {
    public var template: CouponTemplate
    public var issuedCount: Int64
    public var createdAtMilliseconds: Int64
}

/// Coupon templates, managed by HQ, and the coupons issued from them (`CouponStore+Coupons`).
public struct CouponStore: Sendable {
    let db: Database
    var logger: Logger { db.logger }

    public init(db: Database) { self.db = db }

    /// Creates a template; every merchant it names must be the mall's.
    public func createTemplate<R: Sendable>(mallId: Int64, _ t: CouponTemplate, request: IdempotentRequest<R>, respond: @escaping @Sendable (CouponTemplateRow) -> R) async throws -> R {
        try await db.mutate(mallId, request) { connection in
            if !t.merchantIds.isEmpty {
                var known: Set<Int64> = []
                for try await id in try await connection.query(
                    "SELECT id FROM merchants WHERE mall_id = \(mallId) AND id = ANY(\(t.merchantIds))", logger: logger
                ).decode(Int64.self) { known.insert(id) }
                if let unknown = t.merchantIds.first(where: { !known.contains($0) }) { throw DomainError.notFound("merchant \(unknown)") }
            }
            var amountOff: Int64 = 0, percent: Int32 = 0, cap: Int64 = 0, gift = ""
            switch t.benefit {
            case .amountOff(let minor): amountOff = minor
            case .percentOff(let basisPoints, let capMinor): (percent, cap) = (basisPoints, capMinor)
            case .freeGift(let description): gift = description
            }
            var from: Int64?, until: Int64?, days: Int32?
            switch t.validity {
            case .fixed(let starts, let ends): (from, until) = (starts, ends)
            case .daysAfterIssue(let n): days = n
            }
            let rows = try await connection.query("""
                INSERT INTO coupon_templates (mall_id, name, benefit_kind, amount_off_minor, percent_off_basis_points, percent_off_cap_minor, free_gift,
                    minimum_spend_minor, valid_from, valid_until, valid_days_after_issue, merchant_ids, categories, per_member_limit, total_quantity,
                    mall_share_basis_points)
                VALUES (\(mallId), \(t.name), \(t.benefit.kind), \(amountOff), \(percent), \(cap), \(gift), \(t.minimumSpendMinor),
                    from_epoch_ms(\(from)), from_epoch_ms(\(until)), \(days), \(t.merchantIds), \(t.categories.map(\.rawValue)), \(t.perMemberLimit),
                    \(t.totalQuantity), \(t.mallShareBasisPoints))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let created = try await Self.decode(rows).first else { throw DomainError.unavailable("the template was not written; retry") }
            return respond(created)
        }
    }

    public func listTemplates(mallId: Int64, afterId: Int64, limit: Int) async throws -> [CouponTemplateRow] {
        try await db.withMall(mallId) { connection in
            try await Self.decode(connection.query("""
                SELECT \(unescaped: Self.columns) FROM coupon_templates WHERE mall_id = \(mallId) AND id > \(afterId) ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    static let columns = """
        id, name, benefit_kind, amount_off_minor, percent_off_basis_points, percent_off_cap_minor, free_gift, minimum_spend_minor,
        epoch_ms(valid_from), epoch_ms(valid_until), valid_days_after_issue, merchant_ids, categories, per_member_limit, total_quantity,
        issued_count, mall_share_basis_points, epoch_ms(created_at)
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [CouponTemplateRow] {
        var result: [CouponTemplateRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            let benefit: CouponBenefit
            switch try r[2].decode(Int16.self) {
            case 1: benefit = .amountOff(minor: try r[3].decode(Int64.self))
            case 2: benefit = .percentOff(basisPoints: try r[4].decode(Int32.self), capMinor: try r[5].decode(Int64.self))
            default: benefit = .freeGift(description: try r[6].decode(String.self))
            }
            let validity: CouponValidity
            if let days = try r[10].decode(Int32?.self) {
                validity = .daysAfterIssue(days)
            } else {
                validity = .fixed(startsAtMilliseconds: try r[8].decode(Int64?.self) ?? 0, endsAtMilliseconds: try r[9].decode(Int64?.self) ?? 0)
            }
            let template = CouponTemplate(
                id: try r[0].decode(Int64.self), name: try r[1].decode(String.self), benefit: benefit, minimumSpendMinor: try r[7].decode(Int64.self),
                validity: validity, merchantIds: try r[11].decode([Int64].self),
                categories: try r[12].decode([Int16].self).compactMap(MerchantCategory.init(rawValue:)),
                perMemberLimit: try r[13].decode(Int32.self), totalQuantity: try r[14].decode(Int64.self), mallShareBasisPoints: try r[16].decode(Int32.self))
            result.append(CouponTemplateRow(template: template, issuedCount: try r[15].decode(Int64.self), createdAtMilliseconds: try r[17].decode(Int64.self)))
        }
        return result
    }
}
