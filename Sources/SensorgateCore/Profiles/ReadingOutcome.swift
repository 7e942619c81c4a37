// What one raw input became. Failures are named so the gateway counts them by reason
// (the rtl_433 way: a CRC failure is not the same problem as a loose wire).

public enum ReadingOutcome: Sendable, Equatable {
    /// A temperature in °C, inside the valid range.
    case reading(celsius: Double)
    /// Motion was detected.
    case motion
    /// Any other reading (humidity, pressure, battery, a contact), in its event's unit and inside
    /// the valid range. Temperatures and motion keep their own cases.
    case measured(ReadingValue)
    /// Valid input that is not an event (occupancy false, the other edge).
    case idle
    /// The sensor's own integrity check failed (w1_slave `crc=.. NO`).
    case crcFailed(String)
    /// Parsed, but outside the profile's `valid_range` (°C).
    case outOfRange(celsius: Double)
    /// A reading other than a temperature outside the profile's `valid_range` (its event's unit).
    case outOfRangeValue(ReadingValue)
    /// The input does not have the expected shape.
    case malformed(String)
    /// JSON without the configured field, or a regex without a match.
    case missingField(String)

    /// Why it is a failure; nil for a success.
    public var failureReason: FailureReason? {
        switch self {
        case .reading, .motion, .measured, .idle: return nil
        case .crcFailed: return .crcFailed
        case .outOfRange, .outOfRangeValue: return .outOfRange
        case .malformed: return .malformed
        case .missingField: return .missingField
        }
    }

    /// A sentence for the log.
    public var detail: String {
        switch self {
        case .reading(let c): return "\(JSONWriter.number(roundedCelsius(c))) °C"
        case .motion: return "motion"
        case .measured(let v): return v.display
        case .idle: return "no event"
        case .crcFailed(let d), .malformed(let d), .missingField(let d): return d
        case .outOfRange(let c): return "\(JSONWriter.number(roundedCelsius(c))) °C is outside the valid range"
        case .outOfRangeValue(let v): return "\(v.display) is outside the valid range"
        }
    }

    /// The reading, for the successes.
    public var readingValue: ReadingValue? {
        switch self {
        case .reading(let c): return .temperature(celsius: c)
        case .motion: return .motion
        case .measured(let v): return v
        default: return nil
        }
    }
}

/// A parser's result in the sensor's own units, before conversion and range checks.
enum RawReading: Equatable {
    case value(Double)
    case motion
    case idle
    case failed(ReadingOutcome)
}
