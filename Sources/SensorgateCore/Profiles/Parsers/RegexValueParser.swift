// `regex` format: a pattern with a named group `value`, for sensors that print text lines.
//
//   an Arduino sketch printing      "T=21.50"        pattern: 'T=(?<value>-?[0-9.]+)'
//   a Tasmota-style console line    "Temp: 21.5 C"   pattern: 'Temp: (?<value>-?[0-9.]+) C'

import Synchronization

struct RegexValueParser: Sendable {
    /// A compiled Regex is not Sendable; devices share one decoder across tasks, so it lives
    /// behind a Mutex (uncontended: each device parses on one thread at a time).
    final class Compiled: Sendable {
        let regex: Mutex<Regex<AnyRegexOutput>>
        init(pattern: String) throws { regex = Mutex(try Regex(pattern)) }
    }

    private let compiled: Compiled

    init(pattern: String) throws(ReadingDecoder.InvalidPattern) {
        do {
            compiled = try Compiled(pattern: pattern)
        } catch {
            throw ReadingDecoder.InvalidPattern(description: "invalid regular expression: \(error)")
        }
        guard ["(?<value>", "(?P<value>", "(?'value'"].contains(where: { pattern.contains($0) }) else {
            throw ReadingDecoder.InvalidPattern(description: "the pattern needs a named group 'value', such as (?<value>-?[0-9.]+)")
        }
    }

    func parse(_ text: String) -> RawReading {
        let line = text.trimmingSpaces
        let captured = compiled.regex.withLock { regex -> Substring?? in
            guard let match = try? regex.firstMatch(in: line) else { return nil }
            return .some(match.output["value"]?.substring)
        }
        guard let captured else {
            return .failed(.missingField("no match for the pattern in \(quoted(line))"))
        }
        guard let captured else {
            return .failed(.missingField("the 'value' group did not match in \(quoted(line))"))
        }
        guard let value = Double(captured.trimmingSpaces), value.isFinite else {
            return .failed(.malformed("'value' is not a number: \(quoted(String(captured)))"))
        }
        return .value(value)
    }
}
