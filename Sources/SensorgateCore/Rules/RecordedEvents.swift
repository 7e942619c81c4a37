// Recorded events for `sensorgate rules test`: one JSON object per line, either full
// CloudEvents as the gateway publishes them (captured with mosquitto_sub) or the short form
// {"time": "...", "type": "TemperatureReading", "subject": "cpu", "data": {"celsius": 71.5}}.

public enum RecordedEvents {
    public struct LineError: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { message }
    }

    /// Parses one line; nil for a blank line or a `#` comment.
    public static func parse(_ text: Substring, line: Int) throws(LineError) -> Event? {
        let trimmed = text.drop(while: { $0.isWhitespace })
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        let value: JSONValue
        do { value = try JSONParser.parse(String(trimmed)) } catch { throw LineError(line: line, message: "not JSON: \(error)") }
        guard case .object(var members) = value else { throw LineError(line: line, message: "expected a JSON object (one event per line)") }
        if members["specversion"] == nil { members["specversion"] = .string("1.0") }
        if members["id"] == nil { members["id"] = .string("00000000-0000-7000-8000-000000000000") }
        if members["source"] == nil { members["source"] = .string("recorded") }
        var w = JSONWriter()
        w.value(.object(members))
        do {
            return try Event(cloudEventJSON: w.string)
        } catch {
            throw LineError(line: line, message: error.message)
        }
    }
}
