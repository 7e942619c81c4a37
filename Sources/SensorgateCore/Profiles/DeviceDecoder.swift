// Decodes everything one device's input says: one ReadingDecoder per channel. A single-channel
// device decodes exactly as before (a payload without its field is `missingField`). A
// multi-channel device yields each field a payload carries: a channel whose field is missing
// or null in this payload is simply not in it (zigbee2mqtt sends what changed), and only a
// payload with none of them is `missingField`.
//
//   zigbee2mqtt, Aqara WSDCGQ11LM:  {"battery":97,"humidity":81,"linkquality":120,"temperature":4.5}
//   → TemperatureReading 4.5 °C, HumidityReading 81 %RH, BatteryLevel 97 % (linkquality is no channel)

public struct DeviceDecoder: Sendable {
    public struct Channel: Sendable {
        public let config: ChannelConfig
        public let decoder: ReadingDecoder
    }

    public let channels: [Channel]

    public init(channels: [ChannelConfig]) throws(ReadingDecoder.InvalidPattern) {
        var built: [Channel] = []
        for config in channels { built.append(Channel(config: config, decoder: try ReadingDecoder(spec: config.spec))) }
        self.channels = built
    }

    public init(spec: ReadingSpec) throws(ReadingDecoder.InvalidPattern) {
        try self.init(channels: [ChannelConfig(spec: spec)])
    }

    /// Channels read from the device's own input (the others have a sysfs `file` each).
    public var inputChannels: [Channel] { channels.filter { $0.config.file == nil } }

    /// What the device's input says, one outcome per channel it carries (idle ones left out).
    public func decode(_ text: String) -> [ReadingOutcome] {
        let input = inputChannels
        if input.count == 1 { return [input[0].decoder.decode(text)].filter { $0 != .idle } }
        var outcomes: [ReadingOutcome] = []
        var missing: [String] = []
        var idle = false
        for channel in input {
            let outcome = channel.decoder.decode(text)
            switch outcome {
            case .idle: idle = true  // occupancy false: present, and no event
            case .missingField: missing.append(channel.config.name)
            default: outcomes.append(outcome)
            }
        }
        // A document that is not JSON fails every channel the same way: say it once.
        if let first = outcomes.first, first.failureReason == .malformed, outcomes.allSatisfy({ $0 == first }) { return [first] }
        if outcomes.isEmpty, !idle, !missing.isEmpty {
            let fields = input.compactMap { channel -> String? in
                if case .json(let field, _) = channel.config.spec.format { return field.joined(separator: ".") }
                return nil
            }
            let what = fields.isEmpty ? missing.joined(separator: ", ") : fields.joined(separator: ", ")
            return [.missingField("none of this device's channels (\(what)) is in the input")]
        }
        return outcomes
    }

    /// A GPIO edge, through the device's (one) edge channel.
    public func decode(edge: LineEdge) -> [ReadingOutcome] {
        inputChannels.map { $0.decoder.decode(edge: edge) }.filter { $0 != .idle }
    }
}
