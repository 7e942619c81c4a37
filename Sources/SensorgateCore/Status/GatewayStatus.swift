// What the gateway reports about itself on /status, /healthz and the status page: plain values
// the pipeline and the forwarder copy out of their threads (StatusBoard), read by the HTTP
// thread. No clock is read here: ages are passed in.

/// One device as the pipeline last saw it.
public struct DeviceStatus: Sendable, Equatable {
    public var id: String
    /// The first channel's type: the one `value`, `unit` and `history` follow.
    public var type: EventType
    public var location: String?
    /// The first channel's last value in `unit` (°C for temperatures); nil for motion and contacts.
    public var value: Double?
    public var unit: String?
    /// The first channel's last value in words (`21.5 °C`, `open`, `motion`).
    public var text: String?
    /// Every channel's last value, in the order of their first readings (a BME280 has three).
    public var channels: [ChannelStatus] = []
    /// The last event's time and seq (a reading or a motion).
    public var time: Timestamp?
    public var seq: UInt64?
    public var readings = 0
    public var failures: [FailureReason: Int] = [:]
    /// Failures since the last reading: more than zero means the device is failing now.
    public var failingFor = 0
    public var lastFailure: String?
    public var history = ReadingHistory()

    public init(id: String, type: EventType, location: String?) {
        self.id = id
        self.type = type
        self.location = location
    }

    public var failureTotal: Int { failures.values.reduce(0, +) }
}

/// One reading channel of a device as the pipeline last saw it.
public struct ChannelStatus: Sendable, Equatable {
    public var type: EventType
    /// In `unit`; nil for motion and contacts.
    public var value: Double?
    public var unit: String?
    /// `21.5 °C`, `45 %RH`, `open`, `motion`.
    public var text: String
    public var time: Timestamp
    public var seq: UInt64

    public init(type: EventType, value: Double?, unit: String?, text: String, time: Timestamp, seq: UInt64) {
        self.type = type
        self.value = value
        self.unit = unit
        self.text = text
        self.time = time
        self.seq = seq
    }
}

public struct ThermostatStatus: Sendable, Equatable {
    public var name: String
    public var device: String
    public var mode: ThermostatMode
    public var target: Double
    public var outputOn: Bool
    public var celsius: Double?
    public var stale: Bool

    public init(name: String, device: String, mode: ThermostatMode, target: Double, outputOn: Bool, celsius: Double?, stale: Bool) {
        self.name = name
        self.device = device
        self.mode = mode
        self.target = target
        self.outputOn = outputOn
        self.celsius = celsius
        self.stale = stale
    }
}

/// The pipeline's side: devices, thermostats, alerts, the sequence.
public struct PipelineStatus: Sendable, Equatable {
    public var devices: [DeviceStatus] = []
    public var thermostats: [ThermostatStatus] = []
    public var alerts: [AlertData] = []
    public var emitted = 0
    public var lastSeq: UInt64? = nil
    public init() {}
}

/// The forwarder's side: the link to the broker and the offline buffer.
public struct UplinkStatus: Sendable, Equatable {
    public var broker = ""
    public var connected = false
    /// A connection attempt has been made (before it, "down" means "not tried yet").
    public var attempted = false
    public var connects = 0
    public var disconnects = 0
    /// Milliseconds (monotonic) since the link went down, or since the start before the first connection.
    public var downSince: Int64? = nil
    public var inFlight = 0
    /// Events not yet acknowledged and not in flight: in buffer.db, waiting to be written, queued.
    public var waiting = 0
    /// `waiting` when the link went down: more now means the backlog grows.
    public var waitingAtDown = 0
    public var stored = 0
    public var storedBytes: Int64 = 0
    /// The oldest event in buffer.db (its `time`), nil when empty.
    public var oldest: Timestamp? = nil
    public var maxEvents = 0
    public var maxBytes: Int64 = 0
    public var counters = DeliveryStateMachine.Counters()
    public init() {}
}
