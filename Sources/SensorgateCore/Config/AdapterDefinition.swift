// What the config loader needs from an adapter, supplied by the adapter itself: its name, its
// keys, how its readings are made and how to read its settings. The loader is handed the list
// (SensorgateAdapters' AdapterRegistry), so a new adapter changes nothing in the core.

/// A device's adapter-specific settings, as its adapter's definition read them.
public protocol AdapterSettings: Sendable {
    /// What the device's events are when no reading spec says so (simulated sensors); nil otherwise.
    var eventType: EventType? { get }
    /// True when the device subscribes through the `mqtt` section's connection (another broker
    /// it names borrows those settings too), so a config without that section is an error.
    var requiresBroker: Bool { get }
    /// The topic filter the device subscribes to, and the broker (nil: the `mqtt` section's), for
    /// the AsyncAPI description; nil for devices that read no broker.
    var subscription: (filter: String, broker: BrokerURL?)? { get }
}

extension AdapterSettings {
    public var eventType: EventType? { nil }
    public var requiresBroker: Bool { false }
    public var subscription: (filter: String, broker: BrokerURL?)? { nil }
}

public struct AdapterDefinition: Sendable {
    public enum Readings: Sendable {
        /// Raw input that a reading spec (usually from a profile) decodes, in one of `formats`
        /// (`ReadingFormat.names`).
        case decoded(formats: [String])
        /// Readings the adapter makes itself: no reading spec, so no profile; `hint` says what
        /// to set instead, after "… devices take no profile; ".
        case madeByAdapter(hint: String)
    }

    /// What `adapter:` says.
    public let name: String
    /// Its own keys in a device entry or a profile, besides id, adapter, profile and location
    /// (and the reading spec's keys when readings are decoded).
    public let keys: [String]
    public let readings: Readings
    /// Reads the settings through `reader`, which reports every problem at its place; nil when
    /// they cannot be made (a required key missing or wrong).
    public let parse: @Sendable (DeviceSettingsReader) -> (any AdapterSettings)?

    public init(name: String, keys: [String], readings: Readings,
                parse: @escaping @Sendable (DeviceSettingsReader) -> (any AdapterSettings)?) {
        self.name = name
        self.keys = keys
        self.readings = readings
        self.parse = parse
    }

    /// The formats a reading spec may use; nil when the adapter takes no reading spec.
    public var readingFormats: [String]? {
        if case .decoded(let formats) = readings { return formats }
        return nil
    }
}
