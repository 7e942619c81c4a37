// Where adapter output becomes events: each reading gets its seq (from SQLite), a UUIDv7 id and
// a time, and goes to every sink; each failure is counted by device and reason and logged.
// Every event then passes through the rules engine, whose alerts and thermostat commands are
// emitted the same way right after it, so a rule's output always follows its cause in seq.

import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateStorage

/// Receives every event the gateway emits, in seq order. Synchronous on purpose: the pipeline
/// hands each event over before it can assign the next seq, so no await (and no actor
/// reentrancy) can ever let a later seq overtake an earlier one. A sink that does I/O queues.
public protocol EventSink: Sendable {
    func deliver(_ event: Event)
}

/// What the rules do besides emitting events: `publish` actions and driving actuators.
public protocol RuleEffects: Sendable {
    func publish(topic: String, payload: String, retain: Bool, qos: Int)
    func drive(thermostat: ThermostatConfig, on: Bool)
}

/// Failures by device and reason, for logs and, later, /metrics.
public struct FailureCounts: Sendable, Equatable {
    public private(set) var byDevice: [String: [FailureReason: Int]] = [:]

    public mutating func add(device: String, reason: FailureReason) -> Int {
        let count = (byDevice[device]?[reason] ?? 0) + 1
        byDevice[device, default: [:]][reason] = count
        return count
    }

    public var total: Int { byDevice.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
}

public actor EventPipeline {
    private let source: String
    private let database: SQLiteDatabase
    private let sequence: SequenceStore
    private var sinks: [any EventSink]
    private let logger: Logger
    private var locations: [String: String]
    /// Seeded once from the system: ids need uniqueness, not secrecy, and getrandom() per event costs a syscall.
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private var clockSynced = true
    private var clockCheckedAt: Int64? = nil
    public private(set) var failures = FailureCounts()
    public private(set) var emitted = 0
    private var rules: RuleEngine
    private let effects: (any RuleEffects)?
    private let ruleState: RuleStateStore
    private let bootID = WallClock.bootID()
    private var lastSave: Int64 = 0
    private var stateErrorLogged = false

    /// Opens (or creates) `<stateDir>/sensorgate.db` for the sequence; `stateDir` must exist.
    public init(config: GatewayConfig, sinks: [any EventSink], effects: (any RuleEffects)? = nil, resumeSeq: UInt64? = nil,
                logger: Logger) throws {
        let database = try SQLiteDatabase(path: Paths.join(config.gateway.stateDir, "sensorgate.db"))
        let sync: SQLiteDatabase.Synchronous = config.buffer.sync == .full ? .full : .normal
        try database.configure(synchronous: sync)
        self.database = database
        self.sequence = try SequenceStore(database: database, synchronous: sync, resumeAt: resumeSeq)
        self.source = config.gateway.eventSource
        self.sinks = sinks
        self.logger = logger
        self.locations = EventPipeline.locations(of: config)
        self.ruleState = try RuleStateStore(database: database)
        self.rules = RuleEngine(config: config, start: WallClock.ruleInstant())
        self.effects = effects
    }

    // MARK: Rules

    /// Restores the rule state saved by the previous run, then lets the thermostats announce
    /// their state (which drives the actuators) and acts on conditions already true.
    public func startRules() {
        let now = WallClock.ruleInstant()
        do {
            if let saved = try ruleState.load() {
                let elapsed = saved.elapsed(nowWall: now.wall.millisecondsSinceEpoch, nowBoot: now.monotonic, bootID: bootID)
                for problem in rules.restoreState(json: saved.json, at: now, elapsed: elapsed) { logger.warning("\(problem)") }
                let raised = rules.raisedAlerts.count
                logger.info("rule state restored (saved \(DurationText.format(.seconds(elapsed / 1000))) ago\(raised > 0 ? "; \(raised) alert(s) still raised" : ""))")
            }
        } catch {
            logger.error("cannot read the saved rule state in \(database.path): \(error); rules start fresh")
        }
        apply(rules.start(at: now), at: now)
        saveRuleState(at: now)
    }

    /// Fires timers; returns how long until the next one may fire (at most a second, so time
    /// windows follow the wall clock closely).
    public func tickRules() -> Duration {
        let now = WallClock.ruleInstant()
        apply(rules.tick(at: now), at: now)
        if now.monotonic - lastSave >= 1000, rules.hasState { saveRuleState(at: now) }
        let next = rules.nextDeadline(after: now).map { $0 - now.monotonic } ?? 1000
        return .milliseconds(max(1, min(1000, next)))
    }

    /// Fail-safe at a clean stop: every thermostat output goes off (nobody will watch it), and
    /// the state is saved so the next start resumes timers and min_off accounting.
    public func stopRules() {
        let now = WallClock.ruleInstant()
        apply(rules.shutDown(at: now), at: now)
        saveRuleState(at: now)
    }

    private func apply(_ outputs: [RuleOutput], at now: RuleInstant) {
        guard !outputs.isEmpty else { return }
        for output in outputs {
            switch output {
            case .event(let subject, let data):
                emit(subject: subject, data: data, time: now.wall, evaluate: false)
                if case .thermostatCommand(let command) = data, let thermostat = rules.thermostat(named: command.thermostat) {
                    effects?.drive(thermostat: thermostat, on: command.outputOn)
                }
            case .publish(let topic, let payload, let retain, let qos):
                logger.info("rule publish: \(payload.count > 60 ? String(payload.prefix(60)) + "…" : payload) to \(topic)")
                effects?.publish(topic: topic, payload: payload, retain: retain, qos: qos)
            }
        }
        // Transitions are rare and matter: save at once, so a crash right after an alert does not raise it again.
        saveRuleState(at: now)
    }

    private func saveRuleState(at now: RuleInstant) {
        lastSave = now.monotonic
        do {
            try ruleState.save(.init(json: rules.stateJSON(at: now), wallMilliseconds: now.wall.millisecondsSinceEpoch,
                                     bootMilliseconds: now.monotonic, bootID: bootID))
            stateErrorLogged = false
        } catch {
            if !stateErrorLogged { logger.error("cannot save the rule state in \(database.path): \(error)") }
            stateErrorLogged = true
        }
    }

    private static func locations(of config: GatewayConfig) -> [String: String] {
        var result: [String: String] = [:]
        for device in config.devices { if let location = device.location { result[device.id] = location } }
        return result
    }

    /// After a reload: devices and their locations may have changed; the sequence goes on.
    /// Rules that still exist keep their timers and raised alerts; the thermostats announce
    /// their state again, as the actuators may have changed.
    public func reconfigure(_ config: GatewayConfig) {
        locations = EventPipeline.locations(of: config)
        let now = WallClock.ruleInstant()
        let state = rules.stateJSON(at: now)
        var next = RuleEngine(config: config, start: now)
        for problem in next.restoreState(json: state, at: now, elapsed: 0) { logger.warning("\(problem)") }
        rules = next
        apply(rules.start(at: now), at: now)
    }

    public var nextSeq: UInt64 { sequence.peek }

    public func accept(_ output: AdapterOutput) {
        switch output {
        case .reading(let reading):
            let data: EventData
            switch reading.value {
            case .temperature(let celsius): data = .temperature(celsius: celsius, location: locations[reading.deviceID])
            case .motion: data = .motion(location: locations[reading.deviceID])
            }
            emit(subject: reading.deviceID, data: data, time: reading.time, evaluate: true)
        case .failure(let device, let reason, let detail):
            let count = failures.add(device: device, reason: reason)
            // First failure, then every power of ten, so a dead sensor does not flood the log.
            if count == 1 || isPowerOfTen(count) {
                logger.warning("\(device): \(reason): \(detail)\(count > 1 ? " (\(count) so far)" : "")")
            }
        }
    }

    /// Gives the event its identity and hands it to the sinks.
    @discardableResult
    public func emit(subject: String, data: EventData, time: Timestamp? = nil, evaluate: Bool = true) -> Event? {
        let now = WallClock.now()
        let seq: UInt64
        do {
            seq = try sequence.next()
        } catch {
            logger.error("cannot reserve an event sequence number in \(database.path): \(error); event from \(subject) not emitted")
            _ = failures.add(device: subject, reason: .sequenceError)
            return nil
        }
        if clockCheckedAt.map({ now.millisecondsSinceEpoch - $0 >= 10_000 || now.millisecondsSinceEpoch < $0 }) ?? true {
            let synced = WallClock.isSynchronized()
            if synced != clockSynced || clockCheckedAt == nil {
                if !synced {
                    logger.warning("the host clock is not synchronized (no NTP or RTC yet?): events carry \"clocksynced\": false")
                } else if clockCheckedAt != nil {
                    logger.notice("the host clock is synchronized now")
                }
            }
            clockSynced = synced
            clockCheckedAt = now.millisecondsSinceEpoch
        }
        let event = Event(id: EventID(milliseconds: now.millisecondsSinceEpoch, using: &random), source: source,
                          subject: subject, time: time ?? now, seq: seq, data: data, clockSynced: clockSynced)
        emitted += 1
        for sink in sinks { sink.deliver(event) }
        if evaluate, rules.hasState {
            let instant = WallClock.ruleInstant(wall: now)
            apply(rules.handle(event, at: instant), at: instant)
        }
        return event
    }

    /// Records the exact next seq so a clean restart leaves no gap.
    public func close() {
        do { try sequence.close() } catch { logger.error("cannot save the event sequence: \(error)") }
    }

    private func isPowerOfTen(_ n: Int) -> Bool {
        var v = n
        while v >= 10, v % 10 == 0 { v /= 10 }
        return v == 1
    }
}

/// One readable line per event on stderr: time, device, type, value, seq.
public struct ConsoleEventSink: EventSink {
    public init() {}

    public func deliver(_ event: Event) {
        Console.writeError(ConsoleEventSink.line(for: event) + "\n")
    }

    public static func line(for event: Event) -> String {
        let value: String
        switch event.data {
        case .temperature(let celsius, let location):
            value = "\(roundedCelsius(celsius)) °C" + (location.map { "  \($0)" } ?? "")
        case .motion(let location):
            value = "motion" + (location.map { " in \($0)" } ?? "")
        case .alertRaised(let a): value = "\(a.severity.rawValue): \(a.message)"
        case .alertResolved(let a): value = "resolved: \(a.message)"
        case .thermostatCommand(let c):
            value = "output \(c.outputOn ? "on" : "off") (\(c.mode.rawValue), target \(c.target) °C): \(c.reason)"
        }
        return "\(WallClock.localTimeOfDay(event.time))  \(pad(event.subject, 12)) \(pad(event.type.rawValue, 18)) \(value)  #\(event.seq)"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
