// The type a scalar resolves to, by Yams' default rules (YAML 1.1's bool, int, float, null,
// timestamp, merge and value patterns, else str). Only duplicate-key detection needs it: keys
// `1` and "1" are different keys, `a` and "a" the same. One per document, so its patterns are
// compiled once, when first needed.

struct YAMLTagResolution {
    static let prefix = "tag:yaml.org,2002:"

    /// Yams' `Resolver.default`, in its order; the first rule that matches the whole text wins.
    static let patterns: [(type: String, pattern: String)] = [
        ("bool", "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
        ("int", "[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"),
        ("float", #"[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"#),
        ("merge", "<<"),
        ("null", "~|null|Null|NULL|"),
        ("timestamp", #"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?"#),
        ("value", "="),
    ]

    private var compiled: [(type: String, regex: Regex<AnyRegexOutput>?)] = []

    mutating func resolvedTag(of scalar: YAMLScalar) -> String {
        guard let tag = scalar.tag else { return Self.prefix + plainType(scalar.string) }
        return tag == "!" ? Self.prefix + "str" : tag
    }

    mutating func plainType(_ text: String) -> String {
        if compiled.isEmpty { compiled = Self.patterns.map { ($0.type, try? Regex($0.pattern)) } }
        for (type, regex) in compiled {
            if let regex, (try? regex.wholeMatch(in: text)) != nil { return type }
        }
        return "str"
    }
}
