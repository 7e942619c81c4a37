// `sensorgate discover`: looks through sysfs for the sensors a board has (thermal zones, hwmon
// and 1-Wire thermometers, IIO temperature channels), its GPIO chips and serial ports, and
// writes a `devices:` block with the right profiles, ready to paste into a config. A sensor with
// several channels (a BME280's temperature, humidity and pressure) is one device whose note
// lists each channel found.

import SensorgateCore

public enum Discovery {
    public struct Found: Sendable {
        public var id: String
        public var adapter: String
        public var profile: String
        /// (key, value) pairs after `profile`, in order.
        public var settings: [(String, String)]
        /// Printed above the entry.
        public var note: String
        /// GPIO entries need a line number the board cannot tell us: printed commented out.
        public var commented = false
    }

    /// `sys` stands for /sys (a fixture tree in tests); `dev` for /dev in the printed paths.
    public static func scan(sys: String, dev: String = "/dev") -> [Found] {
        var found: [Found] = []
        func list(_ path: String) -> [String] { (FileSystem.list(sys + path) ?? []).sorted(by: naturalOrder) }
        func text(_ path: String) -> String? { FileSystem.readText(sys + path).map { $0.trimmingWhitespace } }
        func exists(_ path: String) -> Bool { FileSystem.readText(sys + path) != nil }

        for zone in list("/class/thermal") where zone.hasPrefix("thermal_zone") && exists("/class/thermal/\(zone)/temp") {
            let type = text("/class/thermal/\(zone)/type") ?? zone
            let cpu = type.contains("cpu") || type.contains("soc")
            found.append(Found(id: cpu && !found.contains { $0.id == "cpu" } ? "cpu" : identifier(type), adapter: "sysfs",
                               profile: "cpu-thermal", settings: [("path", sys + "/class/thermal/\(zone)/temp")],
                               note: "thermal zone \(zone) (\(type)): \(reading(text("/class/thermal/\(zone)/temp"), milli: true))"))
        }
        for hwmon in list("/class/hwmon") where hwmon.hasPrefix("hwmon") {
            let name = text("/class/hwmon/\(hwmon)/name") ?? hwmon
            // The SoC's hwmon mirror of its thermal zone is already listed above.
            if name.hasSuffix("_thermal"), found.contains(where: { $0.profile == "cpu-thermal" }) { continue }
            for input in list("/class/hwmon/\(hwmon)") where input.hasPrefix("temp") && input.hasSuffix("_input") {
                let channel = String(input.dropLast(6))
                found.append(Found(id: identifier("\(name)-\(channel)"), adapter: "sysfs", profile: name == "jc42" ? "mcp9808" : "hwmon-temp",
                                   settings: [("path", sys + "/class/hwmon/\(hwmon)/\(input)")],
                                   note: "hwmon \(hwmon) (\(name)) \(channel): \(reading(text("/class/hwmon/\(hwmon)/\(input)"), milli: true))"))
            }
            // Humidity channels (sht3x, htu21, si7020 and the like), in milli-percent.
            for input in list("/class/hwmon/\(hwmon)") where input.hasPrefix("humidity") && input.hasSuffix("_input") {
                let channel = String(input.dropLast(6))
                found.append(Found(id: identifier("\(name)-\(channel)"), adapter: "sysfs", profile: "hwmon-humidity",
                                   settings: [("path", sys + "/class/hwmon/\(hwmon)/\(input)")],
                                   note: "hwmon \(hwmon) (\(name)) \(channel): \(show(text("/class/hwmon/\(hwmon)/\(input)"), .humidityReading, .millipercent)) now"))
            }
        }
        for slave in list("/bus/w1/devices") where slave.count > 3 && slave.dropFirst(2).hasPrefix("-") && !slave.hasPrefix("w1_bus") {
            let family = slave.prefix(2)
            guard ["28", "10", "22", "3b", "42"].contains(family), exists("/bus/w1/devices/\(slave)/w1_slave") else { continue }
            let state = text("/bus/w1/devices/\(slave)/w1_slave").map { $0.contains("YES") ? "CRC YES" : "CRC NO (check the wiring)" } ?? "unreadable"
            found.append(Found(id: identifier("ds18b20-\(slave.suffix(4))"), adapter: "sysfs", profile: "ds18b20",
                               settings: [("path", sys + "/bus/w1/devices/\(slave)/w1_slave")],
                               note: "1-Wire thermometer \(slave) (family \(family)): \(state)"))
        }
        for device in list("/bus/iio/devices") where device.hasPrefix("iio:device") {
            found += iioDevice(device, sys: sys, text: text, exists: exists)
        }
        for chip in list("/bus/gpio/devices") where chip.hasPrefix("gpiochip") {
            let label = text("/bus/gpio/devices/\(chip)/label").map { " (\($0))" } ?? ""
            found.append(Found(id: "motion-\(chip.dropFirst(8))", adapter: "gpio", profile: "hc-sr501",
                               settings: [("chip", "\(dev)/\(chip)"), ("line", "17")],
                               note: "GPIO chip \(chip)\(label): set the line your sensor is wired to", commented: true))
        }
        // Ports with a device behind them; a UART whose `type` is 0 is a placeholder without hardware.
        for tty in list("/class/tty") where exists("/class/tty/\(tty)/device/uevent") && text("/class/tty/\(tty)/type") != "0" {
            let driver = text("/class/tty/\(tty)/device/uevent")?.split(separator: "\n").first { $0.hasPrefix("DRIVER=") }.map { String($0.dropFirst(7)) } ?? "?"
            let usb = tty.hasPrefix("ttyUSB") || tty.hasPrefix("ttyACM")
            found.append(Found(id: identifier("serial-\(tty.lowercased())"), adapter: "serial", profile: usb ? "arduino-serial" : "serial-text-celsius",
                               settings: [("port", "\(dev)/\(tty)")],
                               note: "serial port \(tty) (driver \(driver)): check the profile matches what it prints", commented: !usb))
        }
        return found
    }

    /// An IIO device's channels: one device with a profile that reads them all for the sensors
    /// we know (bme280: temperature, humidity, pressure from the device's directory), else one
    /// device per channel with the generic profile of its kind.
    static func iioDevice(_ device: String, sys: String, text: (String) -> String?, exists: (String) -> Bool) -> [Found] {
        let dir = "/bus/iio/devices/\(device)"
        let name = text("\(dir)/name") ?? device
        // (kind, file, generic profile, unit): what this device has, in the order a profile lists them.
        let kinds: [(EventType, String, ReadingUnit)] = [(.temperatureReading, "temp", .millicelsius),
                                                          (.humidityReading, "humidityrelative", .millipercent),
                                                          (.pressureReading, "pressure", .kpa)]
        var channels: [(type: EventType, file: String, unit: ReadingUnit)] = []
        for (type, quantity, unit) in kinds {
            for suffix in ["_input", "_raw"] where exists("\(dir)/in_\(quantity)\(suffix)") {
                channels.append((type, "in_\(quantity)\(suffix)", unit))
                break
            }
        }
        guard !channels.isEmpty else { return [] }
        let raw = channels.contains { $0.file.hasSuffix("_raw") }
        let values = channels.map { c in c.file.hasSuffix("_raw") ? "\(c.type.channelName) from \(c.file) with scale and offset"
                                                                  : "\(c.type.channelName) \(show(text("\(dir)/\(c.file)"), c.type, c.unit))" }
        let note = "IIO \(device) (\(name)): \(values.joined(separator: ", "))\(raw ? "" : " now")"
        // Sensors whose profile reads every channel from the directory.
        let known: [String: (profile: String, id: String, types: [EventType])] = [
            "bme280": ("bme280", "bme280", [.temperatureReading, .humidityReading, .pressureReading]),
            "bmp280": ("bmp280", "bmp280", [.temperatureReading, .pressureReading]),
            "dht11": ("dht22", "dht22", [.temperatureReading, .humidityReading]),
        ]
        if let k = known[name], channels.map(\.type) == k.types, channels.allSatisfy({ $0.file.hasSuffix("_input") }) {
            return [Found(id: identifier(k.id), adapter: "sysfs", profile: k.profile, settings: [("path", sys + dir)], note: note)]
        }
        return channels.enumerated().map { i, channel in
            let profile: String
            switch channel.type {
            case .humidityReading: profile = "iio-humidity"
            case .pressureReading: profile = "iio-pressure"
            case .temperatureReading, .motionDetected, .contactChanged, .batteryLevel, .alertRaised, .alertResolved, .thermostatCommand:
                profile = channel.file.hasSuffix("_raw") ? "iio-temp-raw" : "iio-temp"
            }
            let suffix = channel.type == .temperatureReading ? "temp" : channel.type.channelName
            return Found(id: identifier("\(name)-\(suffix)"), adapter: "sysfs", profile: profile,
                         settings: [("path", sys + "\(dir)/\(channel.file)")],
                         note: i == 0 ? note : "IIO \(device) (\(name)) \(channel.file)")
        }
    }

    /// A sysfs value in its event's unit, for the notes: `45.21 %RH`.
    static func show(_ text: String?, _ type: EventType, _ unit: ReadingUnit) -> String {
        guard let text, let v = Double(text), let value = ReadingValue.numeric(type, unit.convert(v)) else { return "unreadable" }
        return value.display
    }

    /// The `devices:` block.
    public static func render(_ found: [Found]) -> String {
        guard !found.isEmpty else { return "# no sensors, GPIO chips or serial ports found\ndevices: []\n" }
        var out = "devices:\n"
        for f in found {
            out += "  # \(f.note)\n"
            let prefix = f.commented ? "  # " : "  "
            out += "\(prefix)- id: \(f.id)\n"
            out += "\(prefix)  adapter: \(f.adapter)\n"
            out += "\(prefix)  profile: \(f.profile)\n"
            for (key, value) in f.settings { out += "\(prefix)  \(key): \(value)\n" }
        }
        return out
    }

    private static func reading(_ text: String?, milli: Bool) -> String {
        guard let text, let v = Double(text) else { return "unreadable now" }
        let c = milli ? v / 1000 : v
        return "\(c) °C now"
    }

    /// A device id: [A-Za-z0-9_-], lower case.
    static func identifier(_ text: String) -> String {
        var id = ""
        for c in text.lowercased() {
            if c.isASCII, c.isLetter || c.isNumber || c == "-" || c == "_" { id.append(c) } else if !id.hasSuffix("-") { id.append("-") }
        }
        while id.hasSuffix("-") { id.removeLast() }
        return id.isEmpty ? "device" : id
    }

    /// hwmon2 before hwmon10.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        let da = a.drop { !$0.isNumber }, db = b.drop { !$0.isNumber }
        let pa = a.prefix(a.count - da.count), pb = b.prefix(b.count - db.count)
        if pa == pb, let na = Int(da), let nb = Int(db) { return na < nb }
        return a < b
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
