// The `sysfs` adapter's part of the config: its keys and settings, the reading formats it
// decodes, and how the gateway builds it for a device. Registered in AdapterRegistry.
//
// It also checks what the kernel's ABI says about the files a device reads (SysfsAttribute):
// a channel that reads in_humidityrelative_input must be a HumidityReading in millipercent, one
// that reads in_pressure_input a PressureReading in kPa, so no profile reads 45 %RH as 45 °C.

import SensorgateCore

public struct SysfsSettings: AdapterSettings {
    /// The attribute to read; for a device whose channels name a `file` each, their directory.
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
        guard var path = s.string("path", required: "the sysfs file to read") else { return nil }
        let interval = s.duration("interval", minimum: .milliseconds(10)) ?? .seconds(5)
        path = checkChannels(s, path: path)
        return SysfsSettings(path: path, interval: interval)
    }

    public static func make(_ device: DeviceConfig, settings: SysfsSettings) throws -> SysfsAdapter {
        _ = try device.decodedReadings()
        return try SysfsAdapter(deviceID: device.id, settings: settings, channels: device.channels)
    }

    /// Checks each channel against the kernel attribute it reads; returns the path to use (the
    /// directory, when `path` names one channel's file of a device whose channels read files).
    static func checkChannels(_ s: SettingsReader, path: String) -> String {
        let profile = s.profile.map { " (profile \($0))" } ?? ""
        let withFiles = s.channels.indices.filter { s.channels[$0].file != nil }
        if withFiles.isEmpty {
            // The device reads `path` itself.
            let name = String(path.split(separator: "/").last ?? "")
            for channel in s.channels {
                guard let attribute = SysfsAttribute.named(name), let problem = attribute.mismatch(with: channel.spec, file: name) else { continue }
                var hint = ""
                if attribute.event != channel.event {
                    hint = "; for one \(attribute.event.channelName) reading use profile \(genericProfile(attribute, name)), or a profile with channels (bme280, dht22) with the IIO device's directory as 'path'"
                }
                s.error("device '\(s.device)'\(profile): \(problem)\(hint)", at: "path")
            }
            return path
        }
        for i in s.channels.indices where s.channels[i].file == nil {
            s.error("device '\(s.device)'\(profile): its other channels read a 'file' each in the 'path' directory, so this one needs a 'file' too",
                    channel: i, at: "event")
        }
        for i in withFiles {
            let channel = s.channels[i]
            guard let file = channel.file, let attribute = SysfsAttribute.named(file),
                  let problem = attribute.mismatch(with: channel.spec, file: file) else { continue }
            let key = attribute.event != channel.event ? "event" : attribute.unit != channel.spec.unit ? "unit" : "format"
            s.error("device '\(s.device)'\(profile): \(problem)", channel: i, at: s.channel(i, sets: key) ? key : "file")
        }
        // `path` names one of the files (a config written for the one-channel profile): read the directory.
        let last = String(path.split(separator: "/").last ?? "")
        if withFiles.contains(where: { s.channels[$0].file == last }) || SysfsAttribute.named(last) != nil {
            let directory = path.hasPrefix("/") && path.split(separator: "/").count == 1 ? "/" : String(path.dropLast(last.count + 1))
            let files = withFiles.compactMap { s.channels[$0].file }.joined(separator: ", ")
            s.warning("device '\(s.device)'\(profile) reads \(files) from its 'path' directory, but 'path' names the file \(last); reading \(directory) (set 'path' to the directory)",
                      at: "path")
            return directory
        }
        return path
    }

    private static func genericProfile(_ attribute: SysfsAttribute, _ file: String) -> String {
        let iio = file.hasPrefix("in_")
        switch attribute.event {
        case .humidityReading: return iio ? "iio-humidity" : "hwmon-humidity"
        case .pressureReading: return "iio-pressure"
        case .temperatureReading, .motionDetected, .contactChanged, .batteryLevel, .alertRaised, .alertResolved, .thermostatCommand:
            return iio ? "iio-temp" : "hwmon-temp"
        }
    }

    typealias SettingsReader = DeviceSettingsReader
}
