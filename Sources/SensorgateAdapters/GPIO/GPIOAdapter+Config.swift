// The `gpio` adapter's part of the config: its keys and settings, the one reading format it
// decodes (`edge`), and how the gateway builds it for a device. Registered in AdapterRegistry.

import SensorgateCore

public struct GPIOSettings: AdapterSettings {
    public enum Bias: String, Sendable, CaseIterable { case none = "as-is", pullUp = "pull-up", pullDown = "pull-down", disabled }
    public var chip: String
    public var line: Int
    public var debounce: Duration
    public var bias: Bias

    public init(chip: String, line: Int, debounce: Duration = .zero, bias: Bias = .none) {
        self.chip = chip
        self.line = line
        self.debounce = debounce
        self.bias = bias
    }
}

extension GPIOAdapter: RegisteredAdapter {
    public static let definition = AdapterDefinition(
        name: "gpio", keys: ["chip", "line", "debounce", "bias"], readings: .decoded(formats: ["edge"])
    ) { s in
        let chip = s.string("chip", required: "such as /dev/gpiochip0")
        let line = s.int("line", in: 0...4095, required: "the line offset on the chip, such as 17")
        let debounce = s.duration("debounce", maximum: .seconds(10)) ?? .zero
        let bias = s.choice("bias", GPIOSettings.Bias.self) ?? .none
        guard let chip, let line else { return nil }
        return GPIOSettings(chip: chip, line: line, debounce: debounce, bias: bias)
    }

    public static func make(_ device: DeviceConfig, settings: GPIOSettings) throws -> GPIOAdapter {
        try GPIOAdapter(deviceID: device.id, settings: settings, spec: device.decodedReadings())
    }
}
