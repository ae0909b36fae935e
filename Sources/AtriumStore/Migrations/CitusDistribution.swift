import Logging
import PostgresNIO

/// Atrium's distributed mode: on a database with the citus extension, every tenant table (one
/// with a `mall_id` column) is distributed by `mall_id` in one co-location group, so a mall's
/// rows of every table live on one node and each statement of a mall runs on one shard; every
/// other table (malls, platform keys, migration bookkeeping) is a reference table, copied to
/// every node. Run by `Migrator` after the migrations, as the tables' owner.
///
/// Citus distributes a table only while nothing ties it to tables of another kind: a local table
/// that references a reference table becomes a "citus local" table, which cannot then be
/// distributed if it has an identity column, and a table that references an undistributed one
/// cannot be distributed either. So the foreign keys of every table still to be placed are
/// dropped, the tables placed (references first), and the same keys added back. Tables already
/// placed are left as they are: a second run changes nothing.
public enum CitusDistribution {
    public enum Placement: Equatable, Sendable {
        case reference
        case distributedByMall
    }

    /// Whether the database has the citus extension.
    public static func isAvailable(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var found = false
        for try await _ in try await connection.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'", logger: logger) { found = true }
        return found
    }

    /// Functions that write one mall's rows, distributed by their mall argument: Citus then runs
    /// a call on the worker that holds the mall, inside the caller's transaction
    /// (`force_delegation`), instead of each of its statements through the coordinator.
    static let mallFunctions: [(name: String, mallArgument: String)] = [
        ("record_orders", "p_mall_id"), ("record_refund", "p_mall_id"), ("expire_lots", "p_mall_id"), ("return_spent_points", "p_mall_id"),
        ("record_redemption", "p_mall_id"), ("cancel_redemption", "p_mall_id"),
    ]

    /// Places every table not yet placed as it should be, and distributes `mallFunctions`;
    /// answers what it placed.
    @discardableResult
    static func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let placed = try await placeTables(on: connection, logger: logger)
        return placed + (try await distributeFunctions(on: connection, logger: logger))
    }

    private static func distributeFunctions(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var distributed: [String] = []
        for function in mallFunctions {
            var pending: [String] = []
            for try await signature in try await connection.query("""
                SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.proname = \(function.name) AND p.pronamespace = current_schema()::regnamespace
                  AND NOT EXISTS (SELECT 1 FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid AND o.distribution_argument_index IS NOT NULL)
                """, logger: logger).decode(String.self) { pending.append(signature) }
            for signature in pending {
                try await connection.query("""
                    SELECT create_distributed_function(\(signature)::regprocedure, \(function.mallArgument)::text, colocate_with => 'members'::text, force_delegation => true)
                    """, logger: logger)
                distributed.append(signature)
            }
        }
        return distributed
    }

    private static func placeTables(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let tables = try await wantedPlacements(on: connection, logger: logger)
        let current = try await currentPlacements(on: connection, logger: logger)
        let pending = tables.filter { current[$0.name]?.matches($0.placement) != true }
        guard !pending.isEmpty else { return [] }
        let pendingNames = pending.map(\.name)
        // One connection per worker for the DDL below: Citus refuses DDL on a reference table
        // after parallel work on distributed tables in the same transaction.
        try await connection.query("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'", logger: logger)

        let foreignKeys = try await foreignKeys(touching: pendingNames, on: connection, logger: logger)
        for key in foreignKeys {
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoted(key.table)) DROP CONSTRAINT \(quoted(key.name))"), logger: logger)
        }
        for name in pendingNames where current[name] == .citusLocal {
            try await connection.query("SELECT undistribute_table(\(name))", logger: logger)
        }
        for table in pending where table.placement == .reference {
            try await connection.query("SELECT create_reference_table(\(table.name))", logger: logger)
        }
        var anchor = tables.first { current[$0.name] == .distributedByMall }?.name
        for table in pending where table.placement == .distributedByMall {
            try await connection.query("SELECT create_distributed_table(\(table.name), 'mall_id', colocate_with => \(anchor ?? "none"))", logger: logger)
            anchor = anchor ?? table.name
        }
        for key in foreignKeys {
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER TABLE \(quoted(key.table)) ADD CONSTRAINT \(quoted(key.name)) \(key.definition)"), logger: logger)
        }
        logger.info("placed tables on Citus", metadata: ["tables": "\(pendingNames.joined(separator: ", "))"])
        return pendingNames
    }

    struct Table {
        var name: String
        var placement: Placement
    }

    /// Every table of the schema and where it belongs, by name.
    static func wantedPlacements(on connection: PostgresConnection, logger: Logger) async throws -> [Table] {
        var tables: [Table] = []
        for try await (name, tenant) in try await connection.query("""
            SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'mall_id' AND NOT a.attisdropped)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind = 'r'
            ORDER BY c.relname
            """, logger: logger).decode((String, Bool).self) {
            tables.append(Table(name: name, placement: tenant ? .distributedByMall : .reference))
        }
        return tables
    }

    enum CurrentPlacement: Equatable {
        case reference
        case distributedByMall
        case citusLocal
        case other

        func matches(_ placement: Placement) -> Bool {
            switch (self, placement) {
            case (.reference, .reference), (.distributedByMall, .distributedByMall): true
            default: false
            }
        }
    }

    /// What Citus's metadata says of each table it knows (`pg_dist_partition`).
    static func currentPlacements(on connection: PostgresConnection, logger: Logger) async throws -> [String: CurrentPlacement] {
        var placements: [String: CurrentPlacement] = [:]
        for try await (name, method, model, column) in try await connection.query("""
            SELECT c.relname::text, p.partmethod::text, p.repmodel::text, coalesce(column_to_column_name(p.logicalrelid, p.partkey), '')
            FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema()
            """, logger: logger).decode((String, String, String, String).self) {
            placements[name] = switch (method, model) {
            case ("h", _) where column == "mall_id": .distributedByMall
            case ("n", "t"): .reference
            case ("n", "s"): .citusLocal
            default: .other
            }
        }
        return placements
    }

    struct ForeignKey {
        var table: String
        var name: String
        var definition: String
    }

    /// The foreign keys from or to any of `tables`, with their definitions to add them back.
    static func foreignKeys(touching tables: [String], on connection: PostgresConnection, logger: Logger) async throws -> [ForeignKey] {
        var keys: [ForeignKey] = []
        for try await (table, name, definition) in try await connection.query("""
            SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
              AND (c.conrelid::regclass::text = ANY(\(tables)) OR c.confrelid::regclass::text = ANY(\(tables)))
            ORDER BY 1, 2
            """, logger: logger).decode((String, String, String).self) {
            keys.append(ForeignKey(table: table, name: name, definition: definition))
        }
        return keys
    }

    /// Names come from the catalog; quoted so that any of them is one identifier.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
