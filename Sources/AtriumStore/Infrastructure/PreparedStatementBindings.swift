import PostgresNIO

extension PostgresPreparedStatement where Row == PostgresRow {
    /// Statements whose caller reads the columns itself get the row as it came.
    func decodeRow(_ row: PostgresRow) throws -> Row { row }
}
