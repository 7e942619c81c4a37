// The typed reads an adapter's settings parser makes. Each value is checked the way the loader
// checks its own, and every problem becomes a diagnostic at the file, line and column that wrote
// it (the device entry or its profile). Adapters see no YAML type: the YAML library stays here.

/// A device's settings after profile defaults and device overrides are merged.
struct DeviceSettingsTable {
    let values: [String: YAMLValue]
    let device: String
    let at: SourceLocation
    subscript(key: String) -> YAMLValue? { values[key] }
}

/// Every read returns nil when the key is not set (after reporting it, when `required` gives the
/// hint for "device 'x' needs 'key' (hint)") or when its value is wrong (reported at the value).
public struct DeviceSettingsReader {
    let reader: YAMLReader
    let table: DeviceSettingsTable
    let channelTables: [DeviceSettingsTable]
    /// The device's channels as loaded so far (an adapter checks them against its input: a sysfs
    /// attribute's unit, say).
    public let channels: [ChannelConfig]
    /// The profile the device names, for messages.
    public let profile: String?

    init(reader: YAMLReader, table: DeviceSettingsTable, channels: [ChannelConfig] = [], channelTables: [DeviceSettingsTable] = [],
         profile: String? = nil) {
        self.reader = reader
        self.table = table
        self.channels = channels
        self.channelTables = channelTables
        self.profile = profile
    }

    /// The device's id, for messages.
    public var device: String { table.device }

    /// True when `key` has a value, from the device entry or its profile.
    public func isSet(_ key: String) -> Bool { table[key] != nil }

    public func string(_ key: String, required hint: String? = nil) -> String? {
        value(key, required: hint).flatMap { reader.string($0, key) }
    }

    public func int(_ key: String, in range: ClosedRange<Int>? = nil, required hint: String? = nil) -> Int? {
        value(key, required: hint).flatMap { reader.int($0, key, in: range) }
    }

    /// A number within `range` (every number is within ±1e9 anyway); `unit` follows it in messages.
    public func double(_ key: String, in range: ClosedRange<Double>? = nil, unit: String = "", required hint: String? = nil) -> Double? {
        value(key, required: hint).flatMap { reader.double($0, key, in: range, unit: unit) }
    }

    public func bool(_ key: String, required hint: String? = nil) -> Bool? {
        value(key, required: hint).flatMap { reader.bool($0, key) }
    }

    /// A duration such as 500ms or 5m, between `minimum` and `maximum` (ten years unless named).
    public func duration(_ key: String, minimum: Duration = .zero, maximum: Duration? = nil, required hint: String? = nil) -> Duration? {
        value(key, required: hint).flatMap { reader.duration($0, key, minimum: minimum, maximum: maximum ?? YAMLReader.longestDuration) }
    }

    /// A size in bytes such as 64KB.
    public func size(_ key: String, required hint: String? = nil) -> Int64? {
        value(key, required: hint).flatMap { reader.size($0, key) }
    }

    /// One of an enum's raw values; a wrong one is reported with them all and the closest.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, required hint: String? = nil) -> T?
    where T.RawValue == String {
        value(key, required: hint).flatMap { reader.choice($0, key, type) }
    }

    /// The value as messages show it (`"five"`, `a list`), for errors the parser words itself.
    public func shown(_ key: String) -> String { table[key]?.shown ?? "nothing" }

    /// An error at `key`'s value, or at the device when the key is not set.
    public func error(_ message: String, at key: String) {
        reader.error(message, at: table[key]?.location ?? table.at)
    }

    /// A warning at `key`'s value, or at the device when the key is not set.
    public func warning(_ message: String, at key: String) {
        reader.warning(message, at: table[key]?.location ?? table.at)
    }

    /// An error at a key of channel `index` (where its table wrote it), or at the channel.
    public func error(_ message: String, channel index: Int, at key: String) {
        guard channelTables.indices.contains(index) else { return error(message, at: key) }
        let t = channelTables[index]
        reader.error(message, at: t[key]?.location ?? t.at)
    }

    /// True when channel `index` sets `key` itself (not by default).
    public func channel(_ index: Int, sets key: String) -> Bool {
        channelTables.indices.contains(index) && channelTables[index][key] != nil
    }

    private func value(_ key: String, required hint: String?) -> YAMLValue? {
        if let v = table[key] { return v }
        if let hint { reader.error("device '\(device)' needs '\(key)' (\(hint))", at: table.at) }
        return nil
    }
}
