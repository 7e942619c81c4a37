// A composed YAML document: scalars, sequences and mappings, each with the 1-based line and
// column where it was written. An alias is the node of its anchor itself (shared, never copied),
// so it carries the anchor's position, as Yams did.

/// A position in the text, 1-based; columns count Unicode scalars, as libyaml does.
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

public struct YAMLScalar: Sendable, Hashable {
    /// How the scalar was written; only `plain` scalars may mean null, true or a number.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var string: String
    public var style: Style
    /// The explicit tag (`!!str`), resolved by libyaml to its full name; nil when none was written.
    public var tag: String?

    public init(_ string: String, style: Style = .plain, tag: String? = nil) {
        self.string = string
        self.style = style
        self.tag = tag
    }
}

public struct YAMLPair: Sendable {
    public var key: YAMLNode
    public var value: YAMLNode
}

public struct YAMLNode: Sendable {
    public enum Content: Sendable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var content: Content
    public var mark: YAMLMark

    public init(_ content: Content, at mark: YAMLMark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    /// A mapping's value for a scalar key spelled `key` (the last one, as Yams' subscript did).
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = content else { return nil }
        return pairs.last { $0.key.scalar?.string == key }?.value
    }
}
