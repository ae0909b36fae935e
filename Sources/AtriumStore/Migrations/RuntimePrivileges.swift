/// What the server's own role may do to each table: least privilege. Migrations run as the
/// tables' owner (`Migrator`), which then grants these to the role the server connects as, so
/// the server cannot alter a table, turn row-level security off (only an owner can), or rewrite
/// history: journals, postings, refunds, clearing entries and settlement rows take INSERT and SELECT only.
///
/// Granted afresh by every migration run (REVOKE ALL, then the lists below), so a table added
/// by a later migration is named here or the server cannot touch it, and the grants always say
/// what this file says.
public enum RuntimePrivileges {
    /// Written once and never changed: the ledger's history.
    static let appendOnly = ["journals", "postings", "refunds", "settlement_periods", "settlement_statements", "settlement_lines", "clearing_entries", "redemption_draws"]
    /// Read only.
    static let readOnly = ["schema_migrations"]
    /// State that changes: configuration, balances, lots, orders' refunded totals, idempotency
    /// records' responses. UPDATE also allows `SELECT … FOR UPDATE`.
    static let mutable = [
        "malls", "platform_keys", "platform_requests", "merchants", "partners", "api_keys", "idempotency_records", "tiers",
        "category_rules", "members", "campaigns", "orders", "lots", "member_daily_earnings", "member_debts", "mall_jobs", "point_holds", "coupon_templates",
        "spend_draws", "coupons", "rewards", "redemptions",
    ]
    /// Rows that may be removed: a merchant's own rule (ClearMerchantRule), a member's expired QR
    /// tokens (removed as a new one is issued).
    static let deletable = ["merchant_rules", "member_qr_tokens"]

    /// Every table the schema has, each named in exactly one list above.
    public static var tableCount: Int { appendOnly.count + readOnly.count + mutable.count + deletable.count }

    /// The statements that give `role` exactly these privileges.
    static func statements(for role: String) -> [String] {
        precondition(isPlainIdentifier(role), "role names are checked before they reach SQL")
        let quoted = "\"\(role)\""
        return [
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \(quoted)",
            "GRANT USAGE ON SCHEMA public TO \(quoted)",
            sequenceGrant(for: role),
            "GRANT SELECT, INSERT ON \(appendOnly.joined(separator: ", ")) TO \(quoted)",
            "GRANT SELECT ON \(readOnly.joined(separator: ", ")) TO \(quoted)",
            "GRANT SELECT, INSERT, UPDATE ON \(mutable.joined(separator: ", ")) TO \(quoted)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \(deletable.joined(separator: ", ")) TO \(quoted)",
        ]
    }

    /// The sequences behind identity columns, which the server draws ids from.
    static func sequenceGrant(for role: String) -> String {
        precondition(isPlainIdentifier(role), "role names are checked before they reach SQL")
        return "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"\(role)\""
    }

    /// Letters, digits and underscores, not starting with a digit: safe to quote into SQL.
    public static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.first, !first.isNumber, name.count <= 63 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
