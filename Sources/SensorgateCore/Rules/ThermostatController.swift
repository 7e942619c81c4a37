// One thermostat: a hysteresis band around the target, no short-cycling (`min_on`, `min_off`),
// and two fail-safes a heating system needs: a silent sensor (`stale_after`) turns the output
// off and raises an alert, and an output on for `max_run` without a break is forced off.
// Pure: readings and a clock in, ThermostatCommand and alert events out.

public struct ThermostatController: Sendable {
    public let config: ThermostatConfig

    /// What a rule's `thermostat` action asks for while its condition holds.
    public struct Hold: Sendable, Equatable {
        public var rule: String
        public var target: Double?
        public var mode: ThermostatMode?
    }

    public private(set) var outputOn = false
    /// Monotonic ms of the last change of output; nil before the first.
    public private(set) var lastSwitch: Int64? = nil
    public private(set) var lastReading: Int64
    public private(set) var celsius: Double? = nil
    /// Oldest first; for each of target and mode the newest hold that sets it wins.
    public private(set) var holds: [Hold] = []
    public private(set) var staleAlert: AlertData? = nil
    public private(set) var maxRunAlert: AlertData? = nil
    /// Target and mode last announced, to announce changes made by rules.
    private var announced: (target: Double, mode: ThermostatMode)

    public init(config: ThermostatConfig, start: Int64) {
        self.config = config
        self.lastReading = start
        self.announced = (config.target, config.mode)
    }

    public var mode: ThermostatMode { holds.last(where: { $0.mode != nil })?.mode ?? config.mode }
    public var target: Double { holds.last(where: { $0.target != nil })?.target ?? config.target }
    public var isStale: Bool { staleAlert != nil }

    // MARK: Input

    /// The first command after start: puts the actuator in the state the controller believes in
    /// (off, or what was saved before a restart), so relay and controller agree.
    public mutating func start(at now: RuleInstant) -> [RuleOutput] {
        var out = [command(reason: outputOn ? "start: restoring output on" : "start: output off")]
        update(at: now, into: &out)
        return out
    }

    public mutating func reading(_ celsius: Double, at now: RuleInstant, into out: inout [RuleOutput]) {
        self.celsius = celsius
        lastReading = now.monotonic
        update(at: now, into: &out)
    }

    /// `cause` words the ThermostatCommand a change of target or mode emits (default: `rule NAME`).
    /// With a `cause` (a person set it, from Home Assistant), the change is announced before any
    /// switch it brings, so the events say who set the new target even when the output follows.
    public mutating func setHold(_ hold: Hold, at now: RuleInstant, into out: inout [RuleOutput], cause: String? = nil) {
        holds.removeAll { $0.rule == hold.rule }
        holds.append(hold)
        if let cause, announced.target != target || announced.mode != mode {
            out.append(command(reason: "\(cause): target \(show(target)) °C, mode \(mode.rawValue)"))
        }
        update(at: now, into: &out, reason: cause ?? "rule \(hold.rule)")
    }

    public mutating func releaseHold(rule: String, at now: RuleInstant, into out: inout [RuleOutput]) {
        guard holds.contains(where: { $0.rule == rule }) else { return }
        holds.removeAll { $0.rule == rule }
        update(at: now, into: &out, reason: "rule \(rule) ended")
    }

    /// The gateway is stopping and nobody will watch the output: off, whatever min_on says.
    public mutating func stop(at now: RuleInstant, into out: inout [RuleOutput]) {
        switchOutput(false, at: now.monotonic, reason: "fail-safe: gateway stopping", into: &out)
    }

    // MARK: Control

    /// Applies fail-safes, then the band; emits a command for every change of output, target or mode.
    public mutating func update(at now: RuleInstant, into out: inout [RuleOutput], reason cause: String? = nil) {
        let t = now.monotonic
        let name = config.name
        let sensorSilent = t - lastReading >= config.staleAfter.milliseconds
        if sensorSilent, staleAlert == nil {
            let alert = AlertData(rule: "\(name).stale", severity: .critical,
                                  message: "thermostat \(name): no reading from \(config.device) for \(DurationText.format(config.staleAfter)); output held off")
            staleAlert = alert
            out.append(.event(subject: name, data: .alertRaised(alert)))
            if outputOn { switchOutput(false, at: t, reason: "fail-safe: sensor \(config.device) silent for \(DurationText.format(config.staleAfter))", into: &out) }
        } else if !sensorSilent, let alert = staleAlert {
            staleAlert = nil
            out.append(.event(subject: name, data: .alertResolved(alert)))
        }
        if outputOn, let maxRun = config.maxRun, let since = lastSwitch, t - since >= maxRun.milliseconds {
            let alert = AlertData(rule: "\(name).max_run", severity: .critical,
                                  message: "thermostat \(name): output on for \(DurationText.format(maxRun)) without a break; forced off")
            if maxRunAlert == nil {
                maxRunAlert = alert
                out.append(.event(subject: name, data: .alertRaised(alert)))
            }
            switchOutput(false, at: t, reason: "fail-safe: on for max_run \(DurationText.format(maxRun))", into: &out)
        }

        let (mode, target, h) = (self.mode, self.target, config.hysteresis)
        var want = outputOn
        var satisfied = false
        // Reasons are worded only when the output switches: an update per reading must stay cheap.
        enum Why { case modeOff, below(Double), above(Double) }
        var why = Why.modeOff
        if mode == .off {
            want = false
        } else if staleAlert == nil, let c = celsius {
            let low = target - h, high = target + h
            if mode == .heat {
                if c <= low { want = true; why = .below(c) }
                if c >= high { want = false; why = .above(c); satisfied = true }
            } else {
                if c >= high { want = true; why = .above(c) }
                if c <= low { want = false; why = .below(c); satisfied = true }
            }
        }
        func reason() -> String {
            switch why {
            case .modeOff: return "mode off"
            case .below(let c): return "\(show(c)) °C <= \(show(target - h)) °C (target \(show(target)) - \(show(h)))"
            case .above(let c): return "\(show(c)) °C >= \(show(target + h)) °C (target \(show(target)) + \(show(h)))"
            }
        }
        if let alert = maxRunAlert, mode == .off || satisfied {
            // Demand has ended by itself (or the thermostat was turned off): the max_run episode is over.
            out.append(.event(subject: name, data: .alertResolved(alert)))
            maxRunAlert = nil
        }
        if want != outputOn {
            let since = lastSwitch.map { t - $0 } ?? .max
            if want, since >= config.minOff.milliseconds {
                switchOutput(true, at: t, reason: reason(), into: &out)
            } else if !want, mode == .off || since >= config.minOn.milliseconds {
                switchOutput(false, at: t, reason: reason(), into: &out)
            }
        }
        if announced.target != target || announced.mode != mode {
            out.append(command(reason: (cause ?? "setpoint") + ": target \(show(target)) °C, mode \(mode.rawValue)"))
        }
    }

    /// The next monotonic instant at which the controller may act without a reading.
    public func nextDeadline(after now: Int64) -> Int64? {
        var next: Int64? = nil
        func consider(_ candidate: Int64) { if candidate > now, candidate < (next ?? .max) { next = candidate } }
        if staleAlert == nil { consider(lastReading + config.staleAfter.milliseconds) }
        if let since = lastSwitch {
            consider(since + (outputOn ? config.minOn : config.minOff).milliseconds)
            if outputOn, let maxRun = config.maxRun { consider(since + maxRun.milliseconds) }
        }
        return next
    }

    private mutating func switchOutput(_ on: Bool, at t: Int64, reason: String, into out: inout [RuleOutput]) {
        guard on != outputOn else { return }
        outputOn = on
        lastSwitch = t
        out.append(command(reason: reason))
    }

    private mutating func command(reason: String) -> RuleOutput {
        announced = (target, mode)
        return .event(subject: config.name, data: .thermostatCommand(ThermostatCommandData(
            thermostat: config.name, outputOn: outputOn, mode: mode, target: target, celsius: celsius, reason: reason)))
    }

    private func show(_ value: Double) -> String { JSONWriter.number(roundedCelsius(value)) }
}

extension ThermostatController {
    /// State for a restart; times are ages in ms before `now`.
    struct Saved: Sendable {
        var outputOn: Bool
        var switchAge: Int64?
        var readingAge: Int64
        var celsius: Double?
        var holds: [Hold]
        var staleAlert: AlertData?
        var maxRunAlert: AlertData?
    }

    func saved(at now: Int64) -> Saved {
        Saved(outputOn: outputOn, switchAge: lastSwitch.map { now - $0 }, readingAge: now - lastReading, celsius: celsius,
              holds: holds, staleAlert: staleAlert, maxRunAlert: maxRunAlert)
    }

    /// `elapsed`: how long the gateway was down. Switch times count it (the relay kept its state);
    /// the sensor's silence does not (nobody was listening), so a restart does not trip stale.
    mutating func restore(_ saved: Saved, at now: Int64, elapsed: Int64) {
        outputOn = saved.outputOn
        lastSwitch = saved.switchAge.map { now - $0 - elapsed }
        lastReading = now - saved.readingAge
        celsius = saved.celsius
        holds = saved.holds
        staleAlert = saved.staleAlert
        maxRunAlert = saved.maxRunAlert
        announced = (target, mode)
    }
}
