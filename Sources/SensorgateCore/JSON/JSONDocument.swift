// JSON whose object keys keep the order they were written in, for documents people read: the
// event schemas and the AsyncAPI description. Rendered compact or indented, by JSONWriter's rules
// (strings escaped, integers without a fraction).

public indirect enum JSONDocument: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONDocument])
    case object([(String, JSONDocument)])

    public static func == (a: JSONDocument, b: JSONDocument) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A member of an object, nil when absent.
    public subscript(key: String) -> JSONDocument? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// Strings as a JSON array.
    public static func strings(_ items: [String]) -> JSONDocument { .array(items.map { .string($0) }) }

    /// The document as text: `indent` spaces per level (0: one line, no spaces).
    public func rendered(indent: Int = 2) -> String {
        var w = JSONWriter(capacity: 4096)
        write(&w, indent: indent, level: 0)
        return w.string
    }

    private func write(_ w: inout JSONWriter, indent: Int, level: Int) {
        func newline(_ level: Int) {
            guard indent > 0 else { return }
            w.raw("\n")
            w.raw(String(repeating: " ", count: indent * level))
        }
        switch self {
        case .null: w.raw("null")
        case .bool(let b): w.bool(b)
        case .number(let n): w.number(n)
        case .string(let s): w.string(s)
        case .array(let items):
            guard !items.isEmpty else { w.raw("[]"); return }
            // Arrays of scalars stay on one line: `"required": ["a", "b"]`.
            if items.allSatisfy(\.isScalar) {
                w.raw("[")
                for (i, item) in items.enumerated() {
                    if i > 0 { w.raw(indent > 0 ? ", " : ",") }
                    item.write(&w, indent: indent, level: level + 1)
                }
                w.raw("]")
                return
            }
            w.raw("[")
            for (i, item) in items.enumerated() {
                if i > 0 { w.raw(",") }
                newline(level + 1)
                item.write(&w, indent: indent, level: level + 1)
            }
            newline(level)
            w.raw("]")
        case .object(let members):
            guard !members.isEmpty else { w.raw("{}"); return }
            w.raw("{")
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { w.raw(",") }
                newline(level + 1)
                w.string(key)
                w.raw(indent > 0 ? ": " : ":")
                value.write(&w, indent: indent, level: level + 1)
            }
            newline(level)
            w.raw("}")
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}
