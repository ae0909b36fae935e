extension Migration {
    /// Moves the ledger's referential checks from per-row triggers to `LedgerStore.check`.
    ///
    /// Orders, lots, journals, postings and daily totals are written only by the ledger writers,
    /// in the statement that also writes the rows they name, for members locked and merchants
    /// read in the same transaction; members, merchants and journals are never deleted. The
    /// foreign-key triggers therefore re-proved what the writer guarantees, at about a third of
    /// the cost of recording an order (one look-up per inserted row). The checker still proves it
    /// set-based after every test scenario and benchmark run: no ledger row names a missing member,
    /// merchant, order or journal.
    ///
    /// `postings_by_account` goes too: every funder posting of a merchant landed on one hot key,
    /// and the only reader (the checker) scans all postings anyway.
    static let ledgerChecksInChecker = Migration(version: 4, name: "ledger checks in checker", sql: #"""
        ALTER TABLE orders DROP CONSTRAINT orders_mall_id_merchant_id_fkey;
        ALTER TABLE orders DROP CONSTRAINT orders_mall_id_member_id_fkey;
        ALTER TABLE lots DROP CONSTRAINT lots_mall_id_member_id_fkey;
        ALTER TABLE journals DROP CONSTRAINT journals_mall_id_member_id_fkey;
        ALTER TABLE postings DROP CONSTRAINT postings_mall_id_journal_id_fkey;
        ALTER TABLE member_daily_earnings DROP CONSTRAINT member_daily_earnings_mall_id_fkey;
        DROP INDEX postings_by_account;
        """#)
}
