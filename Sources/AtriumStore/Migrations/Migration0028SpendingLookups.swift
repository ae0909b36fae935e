extension Migration {
    /// What the till's payments look up, made cheaper:
    /// - spend draws and clearing entries lose their foreign key to `malls`, as the other ledger
    ///   tables did in migration 3: the key proved nothing the row's order did not, and cost a
    ///   look-up (and a lock on the mall's row) per inserted row;
    /// - QR tokens get an index by member, so issuing a token removes the member's expired ones
    ///   (`MemberStore.issueQrToken`) and the table holds only about one live token per member.
    static let spendingLookups = Migration(version: 28, name: "spending_lookups", sql: #"""
        ALTER TABLE spend_draws DROP CONSTRAINT spend_draws_mall_id_fkey;
        ALTER TABLE clearing_entries DROP CONSTRAINT clearing_entries_mall_id_fkey;
        CREATE INDEX member_qr_tokens_by_member ON member_qr_tokens (mall_id, member_id);
        """#)
}
