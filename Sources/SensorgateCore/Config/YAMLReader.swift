// Reads typed values out of a composed YAML tree and records a located Diagnostic for every
// problem instead of stopping at the first, so `check` reports a whole file in one run.

import Yams

/// A YAML node and the file it came from.
struct YAMLValue {
    let node: Node
    let file: String

    var location: SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    var isNull: Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// A short rendering of the node for messages.
    var shown: String {
        switch node {
        case .scalar(let s): return "\"\(s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
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

    init(environment: [String: String]) { self.environment = environment }

    func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, at: location, message))
    }

    func warning(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, at: location, message))
    }

    // MARK: Documents

    /// Composes a YAML document; a syntax error becomes a diagnostic at its line and column.
    func compose(_ text: String, file: String) -> YAMLValue? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                error("the file is empty", at: SourceLocation(file: file, line: 1, column: 1))
                return nil
            }
            return YAMLValue(node: node, file: file)
        } catch let e as YamlError {
            let (mark, message) = YAMLReader.describe(e)
            error(message, at: SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1))
        } catch {
            self.error("cannot read YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        return nil
    }

    static func describe(_ e: YamlError) -> (Mark?, String) {
        switch e {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { " \($0.text)" } ?? ""
            return (mark, "YAML syntax error: \(problem)\(ctx)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return (context.mark, "duplicate key \(keys) in one mapping")
        case .reader(let problem, _, _, _):
            return (nil, "cannot read the file as text: \(problem)")
        default:
            return (nil, "YAML error: \(e)")
        }
    }

    // MARK: Structure

    /// The entries of a mapping (merge keys `<<` applied), or nil with an error.
    func mapping(_ v: YAMLValue, _ what: String) -> [YAMLEntry]? {
        guard case .mapping(let mapping) = v.node else {
            error("\(what) must be a mapping of keys to values, got \(v.shown)", at: v.location)
            return nil
        }
        var entries: [YAMLEntry] = []
        var merged: [YAMLEntry] = []
        for (k, value) in mapping {
            guard case .scalar(let keyScalar) = k else {
                error("keys must be plain words", at: YAMLValue(node: k, file: v.file).location)
                continue
            }
            let keyValue = YAMLValue(node: k, file: v.file)
            let valueValue = YAMLValue(node: value, file: v.file)
            if keyScalar.string == "<<" {
                let sources: [Node]
                if case .sequence(let seq) = value { sources = Array(seq) } else { sources = [value] }
                for source in sources {
                    if let inner = self.mapping(YAMLValue(node: source, file: v.file), "a merge key's value") {
                        merged += inner
                    }
                }
                continue
            }
            entries.append(YAMLEntry(key: keyScalar.string, keyValue: keyValue, value: valueValue))
        }
        let own = Set(entries.map(\.key))
        return entries + merged.filter { !own.contains($0.key) }
    }

    func sequence(_ v: YAMLValue, _ what: String) -> [YAMLValue]? {
        guard case .sequence(let seq) = v.node else {
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
        guard case .scalar(let s) = v.node else {
            error("'\(key)' must be a single value, got \(v.shown)", at: v.location)
            return nil
        }
        if v.isNull {
            error("'\(key)' has no value", at: v.location)
            return nil
        }
        switch EnvironmentSubstitution.apply(s.string, environment: environment) {
        case .success(let text): return text
        case .failure(.unset(let name)):
            error("environment variable '\(name)' is not set and has no default (write ${\(name):-value} to give one)", at: v.location)
        case .failure(.unterminated):
            error("'${' without a closing '}' in '\(key)' (write $$ for a literal $)", at: v.location)
        case .failure(.badName(let name)):
            error("'\(name)' is not an environment variable name in '\(key)'", at: v.location)
        }
        return nil
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
        guard case .scalar(let s) = v.node, let text = scalarText(v, key) else { return nil }
        guard s.style == .plain || s.style == .any else { return .string(text) }
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
