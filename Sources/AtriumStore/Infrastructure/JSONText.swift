import AtriumDomain
/// Writes the small JSON documents stored with orders and journals (lines, explanations,
/// funding). Hand-written because Foundation's JSONEncoder cost more per order than the rest of
/// building the order's write; `JSONDecoder` reads them back.
protocol JSONObjectWritable {
    func writeJSON(into text: inout String)
}

enum JSONText {
    static func array<T: JSONObjectWritable>(_ items: [T]) -> String {
        var text = "["
        for (i, item) in items.enumerated() {
            if i > 0 { text += "," }
            item.writeJSON(into: &text)
        }
        text += "]"
        return text
    }

    /// `{"key":` for an object's first field, `,"key":` for the others.
    private static func key(_ key: StaticString, into text: inout String, first: Bool) {
        text += first ? "{\"" : ",\""
        text += key.description
        text += "\":"
    }

    /// `"key":` followed by a JSON string, escaped as RFC 8259 requires.
    static func field(_ key: StaticString, _ value: String, into text: inout String, first: Bool = false) {
        Self.key(key, into: &text, first: first)
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    static func field(_ key: StaticString, _ value: Int64, into text: inout String, first: Bool = false) {
        Self.key(key, into: &text, first: first)
        text += String(value)
    }
}

extension StoredEarnLine: JSONObjectWritable {
    func writeJSON(into text: inout String) {
        JSONText.field("rule", rule, into: &text, first: true)
        JSONText.field("description", description, into: &text)
        JSONText.field("points", points, into: &text)
        JSONText.field("funder", funder, into: &text)
        text += "}"
    }
}

extension FundingShare: JSONObjectWritable {
    func writeJSON(into text: inout String) {
        JSONText.field("kind", Int64(kind), into: &text, first: true)
        JSONText.field("owner", owner, into: &text)
        JSONText.field("earned", earned, into: &text)
        JSONText.field("clawed", clawed, into: &text)
        text += "}"
    }
}

extension OrderLineRow: JSONObjectWritable {
    func writeJSON(into text: inout String) {
        JSONText.field("sku", sku, into: &text, first: true)
        JSONText.field("category", category, into: &text)
        JSONText.field("quantity", quantity, into: &text)
        JSONText.field("amountMinor", amountMinor, into: &text)
        JSONText.field("refundedQuantity", refundedQuantity, into: &text)
        text += "}"
    }
}

extension CouponUse: JSONObjectWritable {
    func writeJSON(into text: inout String) {
        JSONText.field("couponId", couponId, into: &text, first: true)
        JSONText.field("code", code, into: &text)
        JSONText.field("templateId", templateId, into: &text)
        JSONText.field("discountMinor", discountMinor, into: &text)
        JSONText.field("mallShareMinor", mallShareMinor, into: &text)
        JSONText.field("freeGift", freeGift, into: &text)
        text += "}"
    }
}
