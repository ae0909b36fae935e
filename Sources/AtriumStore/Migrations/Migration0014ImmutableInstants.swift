extension Migration {
    /// `epoch_ms` and `from_epoch_ms` become IMMUTABLE with bodies that are immutable too, so
    /// PostgreSQL still inlines them (migration 8) and Citus accepts them where it wants only
    /// immutable functions: in RETURNING, and in CASE or COALESCE of a write, which it evaluates
    /// on the coordinator ("non-IMMUTABLE functions are not allowed in the RETURNING clause").
    /// Extracting the epoch from UTC wall time (`AT TIME ZONE 'UTC'`) and `to_timestamp` of
    /// seconds do not depend on the session's time zone, as the STABLE operators did in general.
    /// `to_timestamp` rounds to the microsecond, so a whole number of milliseconds comes back
    /// exactly. `iso_date` writes a date as YYYY-MM-DD without `to_char`, which reads the locale.
    static let immutableInstants = Migration(version: 14, name: "immutable_instants", sql: #"""
        CREATE OR REPLACE FUNCTION epoch_ms(t timestamptz) RETURNS bigint
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (extract(epoch FROM t AT TIME ZONE 'UTC') * 1000)::bigint $$;
        CREATE OR REPLACE FUNCTION from_epoch_ms(ms bigint) RETURNS timestamptz
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_timestamp(ms::numeric / 1000) $$;
        CREATE FUNCTION iso_date(d date) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT lpad(extract(year FROM d)::int::text, 4, '0') || '-' || lpad(extract(month FROM d)::int::text, 2, '0') || '-'
                || lpad(extract(day FROM d)::int::text, 2, '0')
            $$;
        """#)
}
