// Turns raw sensor text (a sysfs file, a serial line, an MQTT payload) or a GPIO edge into a
// ReadingOutcome, following a ReadingSpec: parse, convert to °C, check the valid range.

public struct ReadingDecoder: Sendable {
    public let spec: ReadingSpec
    private let regex: RegexValueParser?

    public struct InvalidPattern: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(spec: ReadingSpec) throws(InvalidPattern) {
        self.spec = spec
        if case .regex(let pattern) = spec.format {
            regex = try RegexValueParser(pattern: pattern)
        } else {
            regex = nil
        }
    }

    public func decode(_ text: String) -> ReadingOutcome {
        let raw: RawReading
        switch spec.format {
        case .integer: raw = NumberParser.parseInteger(text)
        case .float: raw = NumberParser.parseFloat(text)
        case .w1Slave: raw = W1SlaveParser.parse(text)
        case .regex: raw = regex!.parse(text)
        case .json(let field, let motionWhen):
            raw = JSONFieldParser.parse(text, field: field, motionWhen: spec.event == .motionDetected ? (motionWhen ?? .bool(true)) : nil)
        case .edge:
            raw = .failed(.malformed("an edge profile reads GPIO events, not text"))
        }
        return finish(raw)
    }

    public func decode(edge: LineEdge) -> ReadingOutcome {
        guard case .edge(let selection, let activeLow) = spec.format else {
            return .malformed("a GPIO edge arrived for a '\(spec.format.name)' profile")
        }
        return finish(EdgeParser.parse(physical: edge, selection: selection, activeLow: activeLow))
    }

    private func finish(_ raw: RawReading) -> ReadingOutcome {
        switch raw {
        case .failed(let outcome): return outcome
        case .idle: return .idle
        case .motion: return spec.event == .motionDetected ? .motion : .malformed("motion input for a temperature profile")
        case .value(let value):
            guard spec.event == .temperatureReading else { return value != 0 ? .motion : .idle }
            let celsius = spec.unit.toCelsius(value)
            guard celsius.isFinite else { return .malformed("not a finite number") }
            if let range = spec.validRange, !range.contains(celsius) { return .outOfRange(celsius: celsius) }
            return .reading(celsius: celsius)
        }
    }
}
