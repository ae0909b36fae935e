extension Migration {
    /// A member's lots in id order, by index, for ListLots. Without it a listing that includes
    /// spent lots walked the mall's primary key and filtered by member: a quiet member of a busy
    /// mall read every lot of the mall. `lots_by_order` goes: no query reads lots by order (a
    /// refund reads the member's live lots, its order's first), and every earned order paid
    /// for its entry.
    static let lotsByMember = Migration(version: 6, name: "lots by member", sql: #"""
        DROP INDEX lots_by_order;
        CREATE INDEX lots_by_member ON lots (mall_id, member_id, id);
        """#)
}
