// The one-line summary `check` prints for a valid config.

import SensorgateCore

public enum ConfigSummary {
    public static func line(path: String, config: GatewayConfig) -> String {
        func count(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        var parts = [count(config.devices.count, "device"), count(config.rules.count, "rule"),
                     count(config.thermostats.count, "thermostat")]
        if let mqtt = config.mqtt {
            parts.append(mqtt.brokers.count > 1 ? mqtt.brokers.map(\.description).joined(separator: " | ")
                                                 : "mqtt\(mqtt.useTLS ? "s" : "")://\(mqtt.host):\(mqtt.port)")
        } else {
            parts.append("no mqtt")
        }
        return "\(path): OK: gateway '\(config.gateway.id)', \(parts.joined(separator: ", "))"
    }
}
