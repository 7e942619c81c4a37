// Composes one YAML document from libyaml's event stream (the only code that touches libyaml).
// The rules are Yams 6's, whose errors the config golden files record: one document per file,
// an anchor is usable after its node ends, a later anchor of the same name shadows an earlier
// one, duplicate keys are an error at the first of them, and errors carry libyaml's own words.
//
// Aliases are shared, so composing costs what the text costs; what they would expand to is
// counted as they are met, and a document whose aliases reach too many nodes or nest too deep
// is refused at the alias that crossed the bound (nested `<<: [*a, *a, …]` "alias bombs").

internal import CYAML

/// How far aliases may expand a document before it is refused.
public struct YAMLLimits: Sendable {
    /// Nodes reached through aliases, over the whole document: each alias counts every node
    /// of its anchor, aliases inside it expanded.
    public var aliasedNodes: Int
    /// Collections inside collections, aliases expanded.
    public var depth: Int

    public init(aliasedNodes: Int = 10_000, depth: Int = 100) {
        self.aliasedNodes = aliasedNodes
        self.depth = depth
    }
}

public enum YAMLComposeError: Error, Sendable, Equatable {
    /// The text is not readable as YAML's characters (a control character, say).
    case reader(problem: String)
    /// libyaml's scanner, parser or this composer (undefined alias, a second document).
    case syntax(problem: String, context: String?, at: YAMLMark)
    /// Keys written twice in one mapping, sorted; `at` is the first occurrence of the first.
    case duplicateKeys([String], at: YAMLMark)
    /// The alias at `at` took the nodes reached through aliases past `limit`.
    case aliasExpansion(limit: Int, at: YAMLMark)
    /// The collection or alias at `at` nests deeper than `limit`.
    case nesting(limit: Int, at: YAMLMark)
    case outOfMemory
}

public enum YAMLComposer {
    /// The document in `text`, nil when the text holds none (empty, or only comments).
    public static func compose(_ text: String, limits: YAMLLimits = YAMLLimits()) throws(YAMLComposeError) -> YAMLNode? {
        // A trailing NUL keeps the pointer non-null for empty text; libyaml reads only `count` bytes.
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLComposeError) -> YAMLNode? in
            var composer = Composer(events: EventReader(buffer.baseAddress!, count: count), limits: limits)
            return try composer.document()
        }
    }
}

// MARK: Events

/// One libyaml event, copied out so the C event can be freed at once.
private struct Event {
    enum Kind { case streamStart, streamEnd, documentStart, documentEnd, alias, scalar, sequenceStart, sequenceEnd,
                     mappingStart, mappingEnd }
    var kind: Kind
    var mark: YAMLMark
    var anchor: String? = nil
    var tag: String? = nil
    var value: String = ""
    var style: YAMLScalar.Style = .plain
    /// A non-plain scalar written without a tag, which makes it a string whatever its text.
    var quotedImplicit = false
}

/// Owns the libyaml parser handle over a byte buffer that outlives it.
private final class EventReader {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)

    init(_ bytes: UnsafePointer<UInt8>, count: Int) {
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, bytes, count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    func next() throws(YAMLComposeError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw error() }
        defer { yaml_event_delete(&event) }
        let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT: return Event(kind: .streamStart, mark: mark)
        case YAML_STREAM_END_EVENT: return Event(kind: .streamEnd, mark: mark)
        case YAML_DOCUMENT_START_EVENT: return Event(kind: .documentStart, mark: mark)
        case YAML_DOCUMENT_END_EVENT: return Event(kind: .documentEnd, mark: mark)
        case YAML_ALIAS_EVENT:
            return Event(kind: .alias, mark: mark, anchor: Self.string(event.data.alias.anchor))
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            var value = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            // Yams decoded through Foundation, which drops a leading byte-order mark; so do we.
            if value.unicodeScalars.first == "\u{FEFF}" { value.unicodeScalars.removeFirst() }
            return Event(kind: .scalar, mark: mark, anchor: Self.string(s.anchor), tag: Self.string(s.tag), value: value,
                         style: Self.style(s.style), quotedImplicit: s.quoted_implicit != 0)
        case YAML_SEQUENCE_START_EVENT:
            let s = event.data.sequence_start
            return Event(kind: .sequenceStart, mark: mark, anchor: Self.string(s.anchor), tag: Self.string(s.tag))
        case YAML_SEQUENCE_END_EVENT: return Event(kind: .sequenceEnd, mark: mark)
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            return Event(kind: .mappingStart, mark: mark, anchor: Self.string(m.anchor), tag: Self.string(m.tag))
        default: return Event(kind: .mappingEnd, mark: mark)
        }
    }

    private func error() -> YAMLComposeError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown problem"
        switch p.error {
        case YAML_MEMORY_ERROR: return .outOfMemory
        case YAML_READER_ERROR: return .reader(problem: problem)
        default:
            return .syntax(problem: problem, context: p.context.map { String(cString: $0) },
                           at: YAMLMark(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1))
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    private static func style(_ s: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch s {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }
}

// MARK: Composition

private struct Composer {
    /// A node with what it expands to: every node under it through aliases, and its nesting.
    struct Composed {
        var node: YAMLNode
        var size: Int
        var height: Int
    }

    let events: EventReader
    let limits: YAMLLimits
    var anchors: [String: Composed] = [:]
    var aliasedNodes = 0
    var tags = YAMLTagResolution()

    init(events: EventReader, limits: YAMLLimits) {
        self.events = events
        self.limits = limits
    }

    mutating func document() throws(YAMLComposeError) -> YAMLNode? {
        _ = try events.next()  // stream start
        guard try events.next().kind != .streamEnd else { return nil }  // else: document start
        let root = try node(from: events.next(), depth: 0)
        _ = try events.next()  // document end
        let after = try events.next()
        guard after.kind == .streamEnd else {
            throw .syntax(problem: "but found another document", context: "expected a single document in the stream", at: after.mark)
        }
        return root.node
    }

    /// `depth`: how many collections enclose the node.
    mutating func node(from event: Event, depth: Int) throws(YAMLComposeError) -> Composed {
        switch event.kind {
        case .alias:
            guard let anchored = event.anchor.flatMap({ anchors[$0] }) else {
                throw .syntax(problem: "found undefined alias", context: nil, at: event.mark)
            }
            aliasedNodes += anchored.size
            if aliasedNodes > limits.aliasedNodes { throw .aliasExpansion(limit: limits.aliasedNodes, at: event.mark) }
            if depth + anchored.height > limits.depth { throw .nesting(limit: limits.depth, at: event.mark) }
            return anchored
        case .scalar:
            let scalar = YAMLScalar(event.value, style: event.style, tag: event.quotedImplicit ? Self.stringTag : event.tag)
            return register(Composed(node: YAMLNode(.scalar(scalar), at: event.mark), size: 1, height: 0), as: event.anchor)
        case .sequenceStart:
            if depth + 1 > limits.depth { throw .nesting(limit: limits.depth, at: event.mark) }
            var items: [YAMLNode] = []
            var size = 1, height = 0
            var next = try events.next()
            while next.kind != .sequenceEnd {
                let item = try node(from: next, depth: depth + 1)
                items.append(item.node)
                size += item.size
                height = max(height, item.height)
                next = try events.next()
            }
            return register(Composed(node: YAMLNode(.sequence(items), at: event.mark), size: size, height: height + 1), as: event.anchor)
        case .mappingStart:
            if depth + 1 > limits.depth { throw .nesting(limit: limits.depth, at: event.mark) }
            var pairs: [YAMLPair] = []
            var size = 1, height = 0
            var next = try events.next()
            while next.kind != .mappingEnd {
                let key = try node(from: next, depth: depth + 1)
                let value = try node(from: events.next(), depth: depth + 1)
                pairs.append(YAMLPair(key: key.node, value: value.node))
                size += key.size + value.size
                height = max(height, key.height, value.height)
                next = try events.next()
            }
            try checkDuplicates(pairs)
            return register(Composed(node: YAMLNode(.mapping(pairs), at: event.mark), size: size, height: height + 1), as: event.anchor)
        default:
            // libyaml only starts a node here; anything else would be its own bug.
            throw .syntax(problem: "unexpected event", context: nil, at: event.mark)
        }
    }

    /// Anchors take effect when their node ends, so a node cannot contain an alias of itself.
    mutating func register(_ composed: Composed, as anchor: String?) -> Composed {
        if let anchor { anchors[anchor] = composed }
        return composed
    }

    static let stringTag = "tag:yaml.org,2002:str"

    /// Keys equal in text and resolved type (`1` and "1" differ, `a` and "a" do not) or, for
    /// lists and mappings as keys, in structure. Yams named the latter '<uncovertable>'.
    mutating func checkDuplicates(_ pairs: [YAMLPair]) throws(YAMLComposeError) {
        guard pairs.count > 1 else { return }
        var groups: [(first: Int, count: Int)] = []
        var groupsByHash: [Int: [Int]] = [:]
        for (index, pair) in pairs.enumerated() {
            var hasher = Hasher()
            Self.fingerprint(pair.key, into: &hasher)
            let hash = hasher.finalize()
            var match: Int?
            for g in groupsByHash[hash] ?? [] where same(pairs[groups[g].first].key, pair.key) {
                match = g
                break
            }
            if let match {
                groups[match].count += 1
            } else {
                groupsByHash[hash, default: []].append(groups.count)
                groups.append((index, 1))
            }
        }
        let duplicates = groups.filter { $0.count > 1 }.map { pairs[$0.first].key }
        guard !duplicates.isEmpty else { return }
        let scalars = duplicates.filter { $0.scalar != nil }.enumerated()
            .sorted { ($0.element.scalar!.string, $0.offset) < ($1.element.scalar!.string, $1.offset) }.map(\.element)
        let sorted = scalars + duplicates.filter { $0.scalar == nil }
        throw .duplicateKeys(sorted.map { $0.scalar?.string ?? "<uncovertable>" }, at: sorted[0].mark)
    }

    /// Structure and text only; `same` then tells keys of one text but different types apart.
    static func fingerprint(_ node: YAMLNode, into hasher: inout Hasher) {
        switch node.content {
        case .scalar(let s):
            hasher.combine(0)
            hasher.combine(s.string)
        case .sequence(let items):
            hasher.combine(1)
            hasher.combine(items.count)
            for item in items { fingerprint(item, into: &hasher) }
        case .mapping(let pairs):
            hasher.combine(2)
            hasher.combine(pairs.count)
            for pair in pairs {
                Self.fingerprint(pair.key, into: &hasher)
                fingerprint(pair.value, into: &hasher)
            }
        }
    }

    mutating func same(_ a: YAMLNode, _ b: YAMLNode) -> Bool {
        switch (a.content, b.content) {
        case (.scalar(let x), .scalar(let y)):
            // The type follows from text and tag: resolve (a regex match) only when the tags differ.
            guard x.string == y.string else { return false }
            return x.tag == y.tag || tags.resolvedTag(of: x) == tags.resolvedTag(of: y)
        case (.sequence(let x), .sequence(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !same(p, q) { return false }
            return true
        case (.mapping(let x), .mapping(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !same(p.key, q.key) || !same(p.value, q.value) { return false }
            return true
        default:
            return false
        }
    }
}
