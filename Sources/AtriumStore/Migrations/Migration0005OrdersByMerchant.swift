extension Migration {
    /// A merchant's orders, newest first, by index. Without it ListOrders walked the mall's
    /// primary key backwards and filtered by merchant: a quiet shop in a busy mall read the
    /// mall's whole order history to fill one page.
    static let ordersByMerchant = Migration(version: 5, name: "orders by merchant", sql: #"""
        CREATE INDEX orders_by_merchant ON orders (mall_id, merchant_id, id);
        """#)
}
