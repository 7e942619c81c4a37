// The `sysfs` adapter's part of the config: its keys and settings, the reading formats it
// decodes, and how the gateway builds it for a device. Registered in AdapterRegistry.

import SensorgateCore

public struct SysfsSettings: AdapterSettings {
    public var path: String
    public var interval: Duration

    public init(path: String, interval: Duration) {
        self.path = path
        self.interval = interval
    }
}

extension SysfsAdapter: RegisteredAdapter {
    public static let definition = AdapterDefinition(
        name: "sysfs", keys: ["path", "interval"],
        readings: .decoded(formats: ["integer", "float", "w1_slave", "regex", "json"])
    ) { s in
        let path = s.string("path", required: "the sysfs file to read")
        let interval = s.duration("interval", minimum: .milliseconds(10)) ?? .seconds(5)
        return path.map { SysfsSettings(path: $0, interval: interval) }
    }

    public static func make(_ device: DeviceConfig, settings: SysfsSettings) throws -> SysfsAdapter {
        try SysfsAdapter(deviceID: device.id, settings: settings, spec: device.decodedReadings())
    }
}
