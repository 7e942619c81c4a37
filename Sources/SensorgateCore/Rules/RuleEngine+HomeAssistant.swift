// Target and mode set from Home Assistant's climate entity: a hold like a rule's, under a name
// no rule can have, that lasts until HA sets another value (or a rule that becomes true later
// takes over, the newest hold winning as among rules). Saved and restored with the rule state.

extension RuleEngine {
    /// The hold HA's commands set ('@' is not allowed in rule names).
    public static let homeAssistantHold = "@homeassistant"

    public enum HomeAssistantRejection: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownThermostat(String)
        public var description: String {
            switch self {
            case .unknownThermostat(let name): return "no thermostat named '\(name)'"
            }
        }
    }

    /// Applies a target and/or mode from HA to `thermostat`; the ThermostatCommand it emits says
    /// "set from Home Assistant" when target or mode changed.
    public mutating func setFromHomeAssistant(thermostat name: String, target: Double?, mode: ThermostatMode?,
                                              at now: RuleInstant) throws(HomeAssistantRejection) -> [RuleOutput] {
        guard let i = thermostatIndex[name] else { throw .unknownThermostat(name) }
        let previous = thermostats[i].holds.first { $0.rule == Self.homeAssistantHold }
        let hold = ThermostatController.Hold(rule: Self.homeAssistantHold, target: target ?? previous?.target,
                                             mode: mode ?? previous?.mode)
        var out: [RuleOutput] = []
        thermostats[i].setHold(hold, at: now, into: &out, cause: "set from Home Assistant")
        return out
    }

    /// The current state of every thermostat, for state topics: name, output, mode, target.
    public var thermostatStates: [(name: String, outputOn: Bool, mode: ThermostatMode, target: Double)] {
        thermostats.map { ($0.config.name, $0.outputOn, $0.mode, $0.target) }
    }
}
