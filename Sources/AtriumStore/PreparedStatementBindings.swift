import PostgresNIO

extension PostgresBindings {
    /// The values of a prepared statement's `$1, $2, …`, in that order: what every
    /// `makeBindings` writes, one list instead of one `append` a value.
    static func values(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { try bindings.append(value) }
        return bindings
    }
}

extension PostgresPreparedStatement where Row == PostgresRow {
    /// Statements whose caller reads the columns itself get the row as it came.
    func decodeRow(_ row: PostgresRow) throws -> Row { row }
}
