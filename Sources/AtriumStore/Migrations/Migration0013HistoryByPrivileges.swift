extension Migration {
    /// Settlement rows are immutable by privileges alone: the server's role may only INSERT and
    /// SELECT them (`RuntimePrivileges.appendOnly`), as for journals and postings. The triggers
    /// that also refused UPDATE and DELETE go: Citus cannot distribute a table with triggers, and
    /// the one role they still bound, the tables' owner, can drop them anyway.
    static let historyByPrivileges = Migration(version: 13, name: "history_by_privileges", sql: #"""
        DROP TRIGGER settlement_periods_immutable ON settlement_periods;
        DROP TRIGGER settlement_statements_immutable ON settlement_statements;
        DROP TRIGGER settlement_lines_immutable ON settlement_lines;
        DROP FUNCTION refuse_settlement_change();
        """#)
}
