// The MQTT topics of one gateway besides its event topics (`{prefix}/{gateway}/{type}/{subject}`):
//
//   {prefix}/{gw}/status                        retained online/offline (last will)
//   {prefix}/{gw}/state/{device}/{channel}      retained bare value of a reading channel: 21.5, ON/OFF
//   {prefix}/{gw}/state/{thermostat}/target     retained thermostat target (°C), mode, action
//   {prefix}/{gw}/state/{rule}/alert            retained ON while the rule's alert is raised
//   {prefix}/{gw}/command/{thermostat}/target   Home Assistant sets a target (°C) or a mode
//
// A subject's channels never share a name (a device's are reading types; a thermostat's are
// target, mode, action; a rule's is alert), so a device and a thermostat of the same name
// (a thermostat named after its room sensor) do not collide.

public struct GatewayTopics: Sendable, Equatable {
    public var prefix: String
    public var gatewayID: String

    public init(prefix: String, gatewayID: String) {
        self.prefix = prefix
        self.gatewayID = gatewayID
    }

    public init(_ config: GatewayConfig) {
        self.init(prefix: config.mqtt?.topicPrefix ?? "sensorgate", gatewayID: config.gateway.id)
    }

    public var status: String { "\(prefix)/\(gatewayID)/status" }

    public func state(_ subject: String, _ channel: String) -> String { "\(prefix)/\(gatewayID)/state/\(subject)/\(channel)" }

    public func reading(_ device: String, _ type: EventType) -> String { state(device, type.channelName) }

    public func alert(_ rule: String) -> String { state(rule, "alert") }

    /// Where HA publishes a new target (°C) or mode (heat, cool, off) for `thermostat`.
    public func command(_ thermostat: String, _ setting: ThermostatSetting) -> String {
        "\(prefix)/\(gatewayID)/command/\(thermostat)/\(setting.rawValue)"
    }

    /// Every command topic, for one subscription.
    public var commandFilter: String { "\(prefix)/\(gatewayID)/command/+/+" }

    /// The thermostat and setting a command topic names; nil for any other topic.
    public func parseCommand(_ topic: String) -> (thermostat: String, setting: ThermostatSetting)? {
        let head = "\(prefix)/\(gatewayID)/command/"
        guard topic.hasPrefix(head) else { return nil }
        let rest = topic.dropFirst(head.count).split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2, !rest[0].isEmpty, let setting = ThermostatSetting(rawValue: String(rest[1])) else { return nil }
        return (String(rest[0]), setting)
    }
}

/// What Home Assistant's climate entity sets.
public enum ThermostatSetting: String, Sendable, CaseIterable {
    case target, mode
}

/// `heating`, `cooling`, `idle` or `off`: what HA's climate `action_topic` takes.
public func thermostatAction(outputOn: Bool, mode: ThermostatMode) -> String {
    switch (outputOn, mode) {
    case (_, .off): return "off"
    case (true, .heat): return "heating"
    case (true, .cool): return "cooling"
    case (false, _): return "idle"
    }
}
