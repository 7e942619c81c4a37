// The config model: what a validated config file says, with defaults applied and every
// reference checked. Built by ConfigLoader; consumed by the gateway, the rules and the CLI.

public struct GatewayConfig: Sendable {
    public var gateway: GatewaySettings
    public var mqtt: MQTTSettings?
    public var buffer: BufferSettings
    public var devices: [DeviceConfig]
    public var rules: [RuleConfig]
    public var thermostats: [ThermostatConfig]
    public var http: HTTPSettings?
    /// Delivered events kept for replays; nil: none kept.
    public var history: HistorySettings?
    /// Home Assistant MQTT discovery; nil (off) unless the config has a `homeassistant` section.
    public var homeAssistant: HomeAssistantSettings? = nil

    public func device(_ id: String) -> DeviceConfig? { devices.first { $0.id == id } }
}

/// `homeassistant:`: MQTT discovery for Home Assistant.
public struct HomeAssistantSettings: Sendable, Equatable {
    /// Where HA looks for configs (HA's own default: homeassistant).
    public var discoveryPrefix = "homeassistant"
    /// HA's birth topic: `online` there means HA (re)started and wants the configs again.
    public var statusTopic = "homeassistant/status"
    /// How long a motion binary_sensor stays on after a MotionDetected.
    public var motionOffDelay: Duration = .seconds(30)
    /// The range of targets the climate entity offers and the gateway accepts from HA (°C).
    public var minTemp = 5.0
    public var maxTemp = 35.0

    public init() {}
}

public struct GatewaySettings: Sendable {
    public var id: String
    /// Absolute, or relative to the working directory when the config path was.
    public var stateDir: String
    public var profilesDirs: [String]

    /// `sensorgate/<id>`, the CloudEvents `source`.
    public var eventSource: String { "sensorgate/\(id)" }
}

public struct MQTTSettings: Sendable {
    public enum ProtocolVersion: String, Sendable { case v311 = "3.1.1", v5 = "5" }

    public var host: String
    public var port: Int
    public var useTLS: Bool
    public var clientID: String
    public var protocolVersion: ProtocolVersion
    public var username: String?
    public var password: String?
    public var passwordFile: Located<String>?
    public var tls: TLSSettings?
    public var qos: Int
    public var topicPrefix: String
    public var keepalive: Duration
    public var maxInflight: Int
    /// Messages in flight and no PUBACK for this long: the link is stalled; reconnect.
    public var ackTimeout: Duration = .seconds(10)
    /// Retained plain state topics (`{prefix}/{gateway}/state/{device}/{channel}`), on by default.
    public var stateTopics = true

    // Issue 16: several brokers, the CloudEvents MQTT binding, topic layouts.

    public enum CloudEventsMode: String, Sendable, CaseIterable { case structured, binary }
    public enum Layout: String, Sendable, CaseIterable { case field }

    /// Every broker to try, in order of preference (`urls`, or `url` alone); `host`, `port` and
    /// `useTLS` above are the first one's.
    public var brokers: [BrokerURL] = []
    /// On another broker than the first: return to the first once it has answered this long.
    public var preferPrimaryAfter: Duration = .seconds(300)
    /// MQTT 5 message expiry interval of event messages; nil: they never expire.
    public var messageExpiry: Duration? = nil
    public var cloudEvents: CloudEventsMode = .structured
    /// `field`: each number in an event's `data` is also published on its own topic as a bare value.
    public var layout: Layout? = nil
    public var topicTemplate: TopicTemplate = .standard

    /// Every broker, primary first (`brokers`, or the one `host`/`port` names).
    public var brokerList: [BrokerURL] {
        brokers.isEmpty ? [BrokerURL(host: host, port: port, tls: useTLS)] : brokers
    }
}

public struct TLSSettings: Sendable {
    public var caFile: Located<String>?
    public var certFile: Located<String>?
    public var keyFile: Located<String>?
    public var insecure: Bool
}

/// A value with the place in a file it came from, for checks made after loading
/// (file permissions, files that must exist).
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation
}

public struct BufferSettings: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case offline, always }
    public enum OnFull: String, Sendable, CaseIterable { case dropOldest = "drop_oldest", dropNewest = "drop_newest" }
    public enum Sync: String, Sendable, CaseIterable { case normal, full }

    public var mode: Mode = .offline
    public var maxEvents: Int = 1_000_000
    public var maxBytes: Int64 = 256 * 1024 * 1024
    public var onFull: OnFull = .dropOldest
    public var sync: Sync = .normal
    /// Mode offline: an event not acknowledged this long is written to the buffer as well.
    public var saveAfter: Duration = .seconds(1)

    public init() {}
}

public struct DeviceConfig: Sendable {
    public var id: String
    /// The adapter's name, as `adapter:` (or the profile) says; one of the definitions the loader was given.
    public var adapter: String
    public var profileName: String?
    public var location: String?
    /// How raw input becomes a reading; nil for adapters that make readings themselves (simulated).
    /// For a device with several channels, the first channel's.
    public var reading: ReadingSpec?
    /// The adapter's own settings type (SysfsSettings, ...), made by its definition's parser.
    public var settings: any AdapterSettings
    public var declaredAt: SourceLocation
    /// Every reading the device makes, one channel per event type (one for most sensors; a
    /// BME280 has three). Empty for devices that make readings themselves (simulated).
    public var channels: [ChannelConfig] = []
    /// Filters for a device without a reading spec (simulated); the others keep theirs per channel.
    public var filters = FilterSpec()

    /// Temperature or motion: what this device's events are (its first channel's, when it has several).
    public var eventType: EventType {
        settings.eventType ?? reading?.event ?? .temperatureReading
    }

    /// Every event type the device's readings become.
    public var eventTypes: [EventType] {
        channels.isEmpty ? [eventType] : channels.map(\.event)
    }

    /// The filters of the channel making `type`.
    public func filters(for type: EventType) -> FilterSpec {
        channels.first { $0.event == type }?.filters ?? (eventType == type ? filters : FilterSpec())
    }
}

public struct RuleConfig: Sendable {
    public var name: String
    public var condition: Condition
    public var actions: [RuleAction]
    public var cooldown: Duration?
}

/// A device id or a glob over device ids (`room-*`).
public struct DeviceSelector: Sendable, Hashable, CustomStringConvertible {
    public var pattern: String
    public init(pattern: String) { self.pattern = pattern }
    public var isGlob: Bool { pattern.contains(where: { "*?[".contains($0) }) }
    public func matches(_ id: String) -> Bool { Glob.matches(pattern: pattern, id) }
    public var description: String { pattern }
}

public struct TimeOfDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var minutes: Int  // since midnight
    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.minutes < b.minutes }
    public var description: String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}

public enum Weekday: Int, Sendable, CaseIterable {
    case sunday = 0, monday, tuesday, wednesday, thursday, friday, saturday
    public static let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
}

public indirect enum Condition: Sendable {
    case temperature(DeviceSelector, above: Double?, below: Double?, for: Duration?)
    /// `humidity`, `pressure`, `battery`: a threshold on a reading of that type, like `temperature`.
    case level(EventType, DeviceSelector, above: Double?, below: Double?, for: Duration?)
    /// `contact`: the device's contact is open (or closed), for at least `for`.
    case contact(DeviceSelector, open: Bool, for: Duration?)
    case motion(DeviceSelector)
    case noMotion(DeviceSelector, for: Duration)
    case stale(DeviceSelector, for: Duration)
    case rate(DeviceSelector, risesBy: Double?, fallsBy: Double?, within: Duration)
    case time(after: TimeOfDay, before: TimeOfDay, weekdays: Set<Weekday>?)
    case all([Condition])
    case any([Condition])
    case not(Condition)
}

public enum RuleAction: Sendable {
    case alert(severity: AlertSeverity, message: String)
    case publish(topic: String, payload: String, retain: Bool, qos: Int)
    case thermostat(name: String, target: Double?, mode: ThermostatMode?)
}

public struct ThermostatConfig: Sendable {
    public var name: String
    public var device: String
    public var mode: ThermostatMode
    public var target: Double
    public var hysteresis: Double
    public var minOn: Duration
    public var minOff: Duration
    public var staleAfter: Duration
    public var maxRun: Duration?
    public var actuator: ActuatorConfig

    /// Targets a thermostat accepts, in °C: from absolute zero to what a kiln's thermocouple reads.
    public static let targets: ClosedRange<Double> = -273.15 ... 2000
    /// Hysteresis bands it accepts, in °C.
    public static let hystereses: ClosedRange<Double> = 0 ... 100

    public init(name: String, device: String, mode: ThermostatMode, target: Double, hysteresis: Double, minOn: Duration,
                minOff: Duration, staleAfter: Duration, maxRun: Duration?, actuator: ActuatorConfig) {
        self.name = name
        self.device = device
        self.mode = mode
        self.target = target
        self.hysteresis = hysteresis
        self.minOn = minOn
        self.minOff = minOff
        self.staleAfter = staleAfter
        self.maxRun = maxRun
        self.actuator = actuator
    }
}

public enum ActuatorConfig: Sendable, Equatable {
    case mqtt(topic: String, payloadOn: String, payloadOff: String)
    case gpio(chip: String, line: Int, activeLow: Bool)
}

/// `http:`: where /metrics, /healthz, /status and the status page are served, and who may see them.
public struct HTTPSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 9180
    /// Required as `Authorization: Bearer TOKEN` (or `?token=` from a browser) when set.
    public var token: String?
    /// The token's file (read by the host checks, refused if group- or world-readable).
    public var tokenFile: Located<String>?
    /// /healthz says `uplink_down` once the broker has been away this long and the buffer grows.
    public var uplinkDownAfter: Duration = .seconds(120)

    public init() {}

    /// Only this host can connect: 127.0.0.0/8, ::1 or localhost.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" || host.hasPrefix("127.")
    }

    public var listenText: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
