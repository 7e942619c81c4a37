// The type a scalar resolves to, by Yams' default rules (YAML 1.1's bool, int, float, null,
// timestamp, merge and value patterns, else str). Only duplicate-key detection needs it: keys
// `1` and "1" are different keys, `a` and "a" the same.

enum YAMLTagResolution {
    static let prefix = "tag:yaml.org,2002:"

    static func resolvedTag(of scalar: YAMLScalar) -> String {
        guard let tag = scalar.tag else { return prefix + plainType(scalar.string) }
        return tag == "!" ? prefix + "str" : tag
    }

    /// Yams' `Resolver.default`, in its order; the first rule that matches the whole text wins.
    static func plainType(_ text: String) -> String {
        let rules: [(String, String)] = [
            ("bool", "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
            ("int", "[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"),
            ("float", #"[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"#),
            ("merge", "<<"),
            ("null", "~|null|Null|NULL|"),
            ("timestamp", #"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?"#),
            ("value", "="),
        ]
        for (type, pattern) in rules {
            if let regex = try? Regex(pattern), (try? regex.wholeMatch(in: text)) != nil { return type }
        }
        return "str"
    }
}
