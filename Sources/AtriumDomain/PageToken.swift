/// Keyset pagination cursor: the last id of the previous page, written as opaque text.
/// Ids only grow, so `id > cursor` (or `id < cursor` for newest-first lists) resumes exactly.
public enum PageToken {
    public static func encode(lastId: Int64) -> String { "c" + String(lastId, radix: 36) }

    /// 0 for the first page.
    public static func decode(_ token: String, field: String = "page_token") throws(DomainError) -> Int64 {
        if token.isEmpty { return 0 }
        guard token.utf8.count <= 20, token.first == "c", let id = Int64(token.dropFirst(), radix: 36), id > 0 else {
            throw .invalid(field, "is not a token this server issued")
        }
        return id
    }

    /// The next token when a page came back full, else "".
    public static func next(ids: [Int64], pageSize: Int) -> String {
        guard ids.count == pageSize, let last = ids.last else { return "" }
        return encode(lastId: last)
    }
}
