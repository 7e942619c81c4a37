// Turns raw sensor text (a sysfs file, a serial line, an MQTT payload) or a GPIO edge into a
// ReadingOutcome, following a ReadingSpec: parse, convert to the event's unit (°C, %RH, hPa,
// %), check the valid range. Motion and contacts are states, not numbers: a JSON field is
// compared with `motion_when` / `open_when`, a number is true when it is not 0, an edge is the
// line's new logical level.

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
            let matching = spec.event == .motionDetected || spec.event == .contactChanged
            raw = JSONFieldParser.parse(text, field: field, motionWhen: matching ? (motionWhen ?? .bool(true)) : nil)
        case .edge:
            raw = .failed(.malformed("an edge profile reads GPIO events, not text"))
        }
        return finish(raw)
    }

    public func decode(edge: LineEdge) -> ReadingOutcome {
        guard case .edge(let selection, let activeLow) = spec.format else {
            return .malformed("a GPIO edge arrived for a '\(spec.format.name)' profile")
        }
        if spec.event == .contactChanged {
            // Every edge is a change of state: the new logical level says open (high) or closed.
            return .measured(.contact(open: EdgeParser.logical(physical: edge, activeLow: activeLow) == .rising))
        }
        return finish(EdgeParser.parse(physical: edge, selection: selection, activeLow: activeLow))
    }

    private func finish(_ raw: RawReading) -> ReadingOutcome {
        switch raw {
        case .failed(let outcome): return outcome
        case .idle: return spec.event == .contactChanged ? .measured(.contact(open: false)) : .idle
        case .motion:
            switch spec.event {
            case .motionDetected: return .motion
            case .contactChanged: return .measured(.contact(open: true))
            default: return .malformed("motion input for a \(spec.event.rawValue) profile")
            }
        case .value(let value):
            switch spec.event {
            case .motionDetected: return value != 0 ? .motion : .idle
            case .contactChanged: return .measured(.contact(open: value != 0))
            default: break
            }
            let converted = spec.unit.convert(value)
            guard converted.isFinite else { return .malformed("not a finite number") }
            if spec.event == .temperatureReading {
                if let range = spec.validRange, !range.contains(converted) { return .outOfRange(celsius: converted) }
                return .reading(celsius: converted)
            }
            guard let reading = ReadingValue.numeric(spec.event, converted) else {
                return .malformed("a \(spec.event.rawValue) is not made from sensor input")
            }
            if let range = spec.validRange, !range.contains(converted) { return .outOfRangeValue(reading) }
            return .measured(reading)
        }
    }
}
