// One channel of a device: a reading of one event type, from the device's own input (a serial
// line, an MQTT payload, a GPIO line, the sysfs file `path` names) or from a `file` of its own
// in the device's sysfs directory (an IIO device's in_humidityrelative_input), with the
// filters applied to it. A device has one channel per event type, so its events share the
// device id as `subject` and differ by type.

public struct ChannelConfig: Sendable, Equatable {
    /// `temperature`, `humidity`, …: the event type's channel name.
    public var name: String
    /// A sysfs attribute read from the device's `path` directory; nil: the device's own input.
    public var file: String?
    public var spec: ReadingSpec
    public var filters: FilterSpec

    public init(file: String? = nil, spec: ReadingSpec, filters: FilterSpec = FilterSpec()) {
        self.name = spec.event.channelName
        self.file = file
        self.spec = spec
        self.filters = filters
    }

    public var event: EventType { spec.event }
}
