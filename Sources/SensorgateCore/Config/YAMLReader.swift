// Reads typed values out of a composed YAML tree and records a located Diagnostic for every
// problem instead of stopping at the first, so `check` reports a whole file in one run.

internal import SensorgateYAML

/// A YAML node and the file it came from.
struct YAMLValue {
    let node: YAMLNode
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark.line, column: node.mark.column)
    }

    var isNull: Bool {
        guard let s = node.scalar, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// A short rendering of the node for messages.
    var shown: String {
        switch node.content {
        case .scalar(let s): return "\"\(s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

/// One key of a mapping: where the key was written and its value.
struct YAMLEntry {
    let key: String
    let keyValue: YAMLValue
    let value: YAMLValue
}

final class YAMLReader {
    private(set) var diagnostics: [Diagnostic] = []
    let environment: [String: String]
    let limits: YAMLLimits

    init(environment: [String: String], limits: YAMLLimits = YAMLLimits()) {
        self.environment = environment
        self.limits = limits
    }

    func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, at: location, message))
    }

    func warning(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, at: location, message))
    }

    // MARK: Documents

    /// Composes a YAML document; a syntax error becomes a diagnostic at its line and column.
    func compose(_ text: String, file: String) -> YAMLValue? {
        do throws(YAMLComposeError) {
            guard let node = try YAMLComposer.compose(text, limits: limits) else {
                error("the file is empty", at: SourceLocation(file: file, line: 1, column: 1))
                return nil
            }
            return YAMLValue(node: node, file: file)
        } catch {
            let (mark, message) = YAMLReader.describe(error)
            self.error(message, at: SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1))
        }
        return nil
    }

    /// The words of each error; those Yams produced are kept as they were, since `check`'s
    /// output is compared by scripts and golden files.
    static func describe(_ e: YAMLComposeError) -> (YAMLMark?, String) {
        switch e {
        case .syntax(let problem, let context, let mark):
            return (mark, "YAML syntax error: \(problem)\(context.map { " \($0)" } ?? "")")
        case .duplicateKeys(let keys, let mark):
            return (mark, "duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", ")) in one mapping")
        case .reader(let problem):
            return (nil, "cannot read the file as text: \(problem)")
        case .aliasExpansion(let limit, let mark):
            return (mark, "YAML aliases expand to more than \(limit) nodes by this alias (aliases inside anchors multiply, "
                + "as in an alias bomb); write the repeated parts out, or nest fewer aliases")
        case .nesting(let limit, let mark):
            return (mark, "YAML nests more than \(limit) levels deep here (aliases expanded); a config needs far fewer")
        case .outOfMemory:
            return (nil, "YAML error: Memory error")
        }
    }

    // MARK: Structure

    /// The entries of a mapping (merge keys `<<` applied), or nil with an error.
    func mapping(_ v: YAMLValue, _ what: String) -> [YAMLEntry]? {
        guard case .mapping(let mapping) = v.node.content else {
            error("\(what) must be a mapping of keys to values, got \(v.shown)", at: v.location)
            return nil
        }
        var entries: [YAMLEntry] = []
        var merged: [YAMLEntry] = []
        for pair in mapping {
            let (k, value) = (pair.key, pair.value)
            guard let keyScalar = k.scalar else {
                error("keys must be plain words", at: YAMLValue(node: k, file: v.file).location)
                continue
            }
            let keyValue = YAMLValue(node: k, file: v.file)
            let valueValue = YAMLValue(node: value, file: v.file)
            if keyScalar.string == "<<" {
                let sources: [YAMLNode]
                if case .sequence(let seq) = value.content { sources = seq } else { sources = [value] }
                for source in sources {
                    if let inner = self.mapping(YAMLValue(node: source, file: v.file), "a merge key's value") {
                        merged += inner
                    }
                }
                continue
            }
            entries.append(YAMLEntry(key: keyScalar.string, keyValue: keyValue, value: valueValue))
        }
        // Each key once: the mapping's own first, then merged ones in order (YAML: an earlier
        // source wins), so no reader sees two values for one key.
        var seen = Set(entries.map(\.key))
        for entry in merged where seen.insert(entry.key).inserted { entries.append(entry) }
        return entries
    }

    func sequence(_ v: YAMLValue, _ what: String) -> [YAMLValue]? {
        guard case .sequence(let seq) = v.node.content else {
            error("\(what) must be a list, got \(v.shown)", at: v.location)
            return nil
        }
        return seq.map { YAMLValue(node: $0, file: v.file) }
    }

    /// Reports keys that are not in `allowed`, suggesting the closest one.
    func checkKeys(_ entries: [YAMLEntry], allowed: [String], in context: String,
                   misplaced: (String) -> String? = { _ in nil }) {
        for entry in entries where !allowed.contains(entry.key) {
            if let reason = misplaced(entry.key) {
                error(reason, at: entry.keyValue.location)
            } else {
                error("unknown key '\(entry.key)' in \(context)\(Suggestion.didYouMean(entry.key, among: allowed))",
                      at: entry.keyValue.location)
            }
        }
    }

    // MARK: Scalars

    /// The scalar's text with `${VAR}` substituted, or nil with an error.
    func scalarText(_ v: YAMLValue, _ key: String) -> String? {
        guard let s = v.node.scalar else {
            error("'\(key)' must be a single value, got \(v.shown)", at: v.location)
            return nil
        }
        if v.isNull {
            error("'\(key)' has no value", at: v.location)
            return nil
        }
        switch EnvironmentSubstitution.apply(s.string, environment: environment) {
        case .success(let text): return text
        case .failure(.unset(let name)) where Self.mayShow(name, of: key):
            error("environment variable '\(name)' is not set and has no default (write ${\(name):-value} to give one)", at: v.location)
        case .failure(.unset):
            error("'\(key)' names an environment variable that is not set (the name is not shown: it may be part of the secret; write $$ for a literal $)", at: v.location)
        case .failure(.unterminated):
            error("'${' without a closing '}' in '\(key)' (write $$ for a literal $)", at: v.location)
        case .failure(.badName(let name)) where Self.mayShow(name, of: key):
            error("'\(name)' is not an environment variable name in '\(key)'", at: v.location)
        case .failure(.badName):
            error("'${…}' in '\(key)' is not an environment variable name (write $$ for a literal $)", at: v.location)
        }
        return nil
    }

    /// Text from a secret's value is echoed only when it reads like a variable's name
    /// (MQTT_PASSWORD), never what may be a piece of the password itself.
    static func mayShow(_ name: String, of key: String) -> Bool {
        key != "password" || name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isUppercase || $0.isNumber)) }
    }

    func string(_ v: YAMLValue, _ key: String) -> String? { scalarText(v, key) }

    func identifier(_ v: YAMLValue, _ key: String) -> String? {
        guard let text = scalarText(v, key) else { return nil }
        guard !text.isEmpty, text.utf8.allSatisfy({ isIdentifierByte($0) }) else {
            error("'\(key)' may use only letters, digits, '_' and '-', got \(v.shown)", at: v.location)
            return nil
        }
        return text
    }

    /// Every number a config holds is within this bound, so no arithmetic on one overflows into
    /// infinity or traps converting to an integer (a thermostat `target` of 9223372036854775808 or
    /// a simulated `step` of 1e26 were once accepted).
    static let numberBound: ClosedRange<Double> = -1e9 ... 1e9

    /// A number within `range` (and always within `numberBound`); `unit` follows it in messages.
    func double(_ v: YAMLValue, _ key: String, in range: ClosedRange<Double>? = nil, unit: String = "") -> Double? {
        guard let text = scalarText(v, key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            error("'\(key)' must be a number, got \(v.shown)", at: v.location)
            return nil
        }
        let bound = range ?? Self.numberBound
        guard bound.contains(value) else {
            let u = unit.isEmpty ? "" : " \(unit)"
            error("'\(key)' must be between \(JSONWriter.number(bound.lowerBound)) and \(JSONWriter.number(bound.upperBound))\(u), got \(v.shown)",
                  at: v.location)
            return nil
        }
        return value
    }

    func int(_ v: YAMLValue, _ key: String, in range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = scalarText(v, key) else { return nil }
        guard let value = Int(text) else {
            error("'\(key)' must be a whole number, got \(v.shown)", at: v.location)
            return nil
        }
        if let range, !range.contains(value) {
            error("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(value)", at: v.location)
            return nil
        }
        return value
    }

    func bool(_ v: YAMLValue, _ key: String) -> Bool? {
        guard let text = scalarText(v, key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error("'\(key)' must be true or false, got \(v.shown)", at: v.location)
            return nil
        }
    }

    /// The longest duration any key takes unless it names its own: ten years, far inside what
    /// `Duration` and millisecond arithmetic on a monotonic clock can hold.
    static let longestDuration: Duration = .seconds(3650 * 86_400)

    /// A duration of at least `minimum` and at most `maximum` (nil: the caller bounds it itself).
    func duration(_ v: YAMLValue, _ key: String, minimum: Duration = .zero, maximum: Duration? = YAMLReader.longestDuration) -> Duration? {
        guard let text = scalarText(v, key) else { return nil }
        guard let value = DurationText.parse(text) else {
            error("'\(key)' must be a duration such as 500ms, 30s, 5m or 2h, got \(v.shown)", at: v.location)
            return nil
        }
        if value < minimum {
            error("'\(key)' must be at least \(DurationText.format(minimum)), got \(v.shown)", at: v.location)
            return nil
        }
        if let maximum, value > maximum {
            error("'\(key)' must be at most \(DurationText.format(maximum)), got \(v.shown)", at: v.location)
            return nil
        }
        return value
    }

    func size(_ v: YAMLValue, _ key: String) -> Int64? {
        guard let text = scalarText(v, key) else { return nil }
        guard let value = ByteSizeText.parse(text), value > 0 else {
            error("'\(key)' must be a size such as 512KB, 256MB or 1GB, got \(v.shown)", at: v.location)
            return nil
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ v: YAMLValue, _ key: String, _ type: T.Type) -> T? where T.RawValue == String {
        choice(v, key, among: Array(T.allCases))
    }

    /// One of `options`, named by its raw value.
    func choice<T: RawRepresentable>(_ v: YAMLValue, _ key: String, among options: [T]) -> T? where T.RawValue == String {
        choice(v, key, among: options.map(\.rawValue)).flatMap { name in options.first { $0.rawValue == name } }
    }

    /// One of `names`; a wrong one is reported with them all and the closest.
    func choice(_ v: YAMLValue, _ key: String, among names: [String]) -> String? {
        guard let text = scalarText(v, key) else { return nil }
        if names.contains(text) { return text }
        error("'\(key)' must be one of \(names.joined(separator: ", ")), got \(v.shown)\(Suggestion.didYouMean(text, among: names))",
              at: v.location)
        return nil
    }

    /// A scalar as a JSON value, typed the way YAML wrote it: `true`, `1`, `"ON"`.
    func jsonScalar(_ v: YAMLValue, _ key: String) -> JSONValue? {
        guard let s = v.node.scalar, let text = scalarText(v, key) else { return nil }
        guard s.style == .plain else { return .string(text) }
        switch text.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: return Double(text).map(JSONValue.number) ?? .string(text)
        }
    }
}

/// A number as a person writes it: 2 not 2.0.
func shown(_ value: Double) -> String { JSONWriter.number(value) }

func isIdentifierByte(_ b: UInt8) -> Bool {
    (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
}

/// A mapping's entries by key, for reading known keys after unknown ones were reported.
struct EntryTable {
    private var byKey: [String: YAMLEntry] = [:]

    init(_ entries: [YAMLEntry]) {
        for entry in entries where byKey[entry.key] == nil { byKey[entry.key] = entry }
    }

    /// The value of `key`; a key written with no value (`location:`) counts as absent.
    subscript(key: String) -> YAMLValue? {
        guard let entry = byKey[key], !entry.value.isNull else { return nil }
        return entry.value
    }
}
