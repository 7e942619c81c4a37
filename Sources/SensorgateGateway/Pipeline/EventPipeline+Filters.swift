// The pipeline's side of filters, state topics and Home Assistant, on its own thread: readings
// held back by a filter, values a filter has due at a deadline (a throttled reading, a
// heartbeat), state topics waiting for their second, and what HA says (its birth message,
// climate commands, leftover discovery configs).

import Logging
import SensorgateCore

extension EventPipeline {
    /// Emits what the filters have due; returns how long until their next deadline (at most a second).
    func tickFiltersIfDue() -> Duration {
        guard let deadline = filters.nextDeadline else { return .seconds(1) }
        if WallClock.bootMilliseconds() >= deadline {
            for due in filters.due(at: WallClock.bootMilliseconds()) {
                emitReading(device: due.device, value: due.value, time: due.time)
            }
        }
        guard let next = filters.nextDeadline else { return .seconds(1) }
        return .milliseconds(max(1, min(1000, next - WallClock.bootMilliseconds())))
    }

    /// Publishes state topics whose second has passed; returns how long until the next (at most a second).
    func flushStatesIfDue() -> Duration {
        guard let states, let due = states.nextFlush else { return .seconds(1) }
        let now = WallClock.bootMilliseconds()
        if now >= due { states.flush(at: now) }
        guard let next = states.nextFlush else { return .seconds(1) }
        return .milliseconds(max(1, min(1000, next - now)))
    }

    /// At a clean stop: how many readings the filters held back, by device and reason.
    func logHeldBack() {
        summary.heldBack = filters.held
        let total = filters.totalHeld
        if total > 0 { logger.notice("filters held back \(total) reading(s) that did not become events: \(filters.heldSummary)") }
    }

    // MARK: Home Assistant

    func homeAssistant(_ message: HomeAssistantMessage) {
        switch message {
        case .online:
            states?.homeAssistantOnline()
        case .configSeen(let topic, let empty):
            states?.configSeen(topic: topic, payloadEmpty: empty)
        case .command(let name, let setting, let payload):
            guard let ha = homeAssistant else { return }
            let text = payload.trimmingSpaces
            func reject(_ why: String) {
                countFailure(device: name, reason: .malformed, detail: "Home Assistant set \(setting.rawValue) \"\(text.prefix(20))\": \(why); ignored")
            }
            var target: Double? = nil
            var mode: ThermostatMode? = nil
            switch setting {
            case .target:
                guard let t = Double(text), t.isFinite, t >= ha.minTemp, t <= ha.maxTemp else {
                    return reject("a target must be a number of °C from \(JSONWriter.number(ha.minTemp)) to \(JSONWriter.number(ha.maxTemp))")
                }
                target = t
            case .mode:
                guard let m = ThermostatMode(rawValue: text.lowercased()) else { return reject("a mode is heat, cool or off") }
                mode = m
            }
            let now = WallClock.ruleInstant()
            do {
                let outputs = try rules.setFromHomeAssistant(thermostat: name, target: target, mode: mode, at: now)
                logger.notice("thermostat \(name): \(setting.rawValue) \(text) set from Home Assistant", metadata: ["thermostat": "\(name)"])
                apply(outputs, at: now)
                saveRuleState(at: now)
                // HA shows a new target only once the state topic says it, changed or not.
                states?.thermostat(name, in: rules)
            } catch {
                reject(error.description)
            }
        }
    }
}
