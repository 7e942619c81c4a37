// The `serial` adapter's part of the config: its keys and settings (8N1 at 9600 baud unless
// told), the reading formats it decodes, and how the gateway builds it for a device.
// Registered in AdapterRegistry.

import SensorgateCore

public struct SerialSettings: AdapterSettings {
    public enum Parity: String, Sendable, CaseIterable { case none, even, odd }
    public var port: String
    public var baud: Int
    public var dataBits: Int
    public var parity: Parity
    public var stopBits: Int
    public var maxLineLength: Int

    public init(port: String, baud: Int, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1, maxLineLength: Int = 1024) {
        self.port = port
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.maxLineLength = maxLineLength
    }

    /// The rates termios can set.
    static let standardBauds = [50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
                                57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
                                2000000, 2500000, 3000000, 3500000, 4000000]
}

extension SerialAdapter: RegisteredAdapter {
    public static let definition = AdapterDefinition(
        name: "serial", keys: ["port", "baud", "data_bits", "parity", "stop_bits", "max_line_length"],
        readings: .decoded(formats: ["integer", "float", "regex", "json"])
    ) { s in
        let port = s.string("port", required: "such as /dev/ttyUSB0")
        var baud = 9600
        if let b = s.int("baud") {
            if SerialSettings.standardBauds.contains(b) { baud = b } else {
                s.error("'baud' must be a standard rate such as 9600 or 115200, got \(b)", at: "baud")
            }
        }
        let dataBits = s.int("data_bits", in: 5...8) ?? 8
        let parity = s.choice("parity", SerialSettings.Parity.self) ?? .none
        let stopBits = s.int("stop_bits", in: 1...2) ?? 1
        let maxLine = s.int("max_line_length", in: 16...65536) ?? 1024
        return port.map { SerialSettings(port: $0, baud: baud, dataBits: dataBits, parity: parity,
                                         stopBits: stopBits, maxLineLength: maxLine) }
    }

    public static func make(_ device: DeviceConfig, settings: SerialSettings) throws -> SerialAdapter {
        _ = try device.decodedReadings()
        return try SerialAdapter(deviceID: device.id, settings: settings, channels: device.channels)
    }
}
