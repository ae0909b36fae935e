extension Migration {
    /// `epoch_ms` and `from_epoch_ms` become STABLE so that PostgreSQL inlines them. Declared
    /// IMMUTABLE, they were never inlined: their bodies call STABLE operators (timestamptz plus
    /// interval, and extract from timestamptz, which depend on the time zone in general though
    /// not for a whole number of milliseconds), and an IMMUTABLE SQL function whose body is less
    /// than immutable is run as a function instead. Every call then started an executor of its
    /// own, and every statement planned its body again: about a tenth of PostgreSQL's CPU while
    /// recording orders. No index, constraint or generated column uses them, which would need
    /// IMMUTABLE.
    static let inlinedInstants = Migration(version: 8, name: "inlined instants", sql: #"""
        ALTER FUNCTION epoch_ms(timestamptz) STABLE;
        ALTER FUNCTION from_epoch_ms(bigint) STABLE;
        """#)
}
