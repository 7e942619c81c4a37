// Where adapter output becomes events, on the pipeline's own thread: each reading gets its seq
// (from SQLite), a UUIDv7 id and a time, is printed, evaluated by the rules and handed to the
// forwarder; each failure is counted by device and reason and logged once per outage (then at
// powers of ten). Counting is through metric handles made once per device (DeviceTrack), and
// once a second the pipeline copies its view out to the StatusBoard for /status and the page.
// A rule's outputs get their seqs right after their cause. Rule timers fire at
// their deadlines from the same loop, so rules, sequence and rule state have one owner and no
// lock. The loop takes readings only while the forwarder's inbox has room: a slow broker or disk
// slows the devices (their sends suspend), never this thread's timers. Readings pass their
// device's filters first (ReadingFilters; their deadlines fire from the same loop), and every
// event updates the retained state topics and Home Assistant (StatePublisher).

import CoreMetrics
import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateRuntime
import SensorgateStorage

/// Messages to the pipeline's thread.
public enum PipelineControl: Sendable {
    /// A reloaded config; `done` resumes once it is in force.
    case reconfigure(GatewayConfig, done: CheckedContinuation<Void, Never>)
    /// Take what is left in the inbox, switch thermostat outputs off, save, end the loop.
    case stop
    /// Home Assistant's birth message, a climate command, or a discovery config seen on the broker.
    case homeAssistant(HomeAssistantMessage)
}

/// What the pipeline did, read by the gateway once the pipeline has stopped.
public struct PipelineSummary: Sendable {
    public var emitted = 0
    public var byType: [EventType: Int] = [:]
    public var nextSeq: UInt64 = 1
    /// Reads that gave no reading, by device and reason (`total` for all of them).
    public var failures = FailureCounts()
    /// Readings a filter held back (delta, throttle), by device and reason.
    public var heldBack: [String: [FilterChain.Reason: Int]] = [:]
}

/// Failures by device and reason (the summary line; /metrics has its own counters).
public struct FailureCounts: Sendable, Equatable {
    public private(set) var byDevice: [String: [FailureReason: Int]] = [:]

    @discardableResult
    public mutating func add(device: String, reason: FailureReason) -> Int {
        let count = (byDevice[device]?[reason] ?? 0) + 1
        byDevice[device, default: [:]][reason] = count
        return count
    }

    public var total: Int { byDevice.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
}

/// Confined to the pipeline thread: made there, used there, never shared.
final class EventPipeline {
    private let source: String
    private let state: StateDirectory
    /// The forwarder's inbox; nil without a broker (events are only printed).
    private let outbox: BoundedChannel<OutboundEvent>?
    let logger: Logger
    private var topicPrefix: String
    private var topicTemplate: TopicTemplate
    private let gatewayID: String
    private let metrics: GatewayMetrics
    /// nil without an `http` section: nobody reads the view, so it is not copied out.
    private let board: StatusBoard?
    /// Configured devices, by position; `trackIndex` finds a device's.
    private var tracks: [DeviceTrack] = []
    private var trackIndex: [String: Int] = [:]
    /// Failures of subjects that are not configured devices (a rule's event without a seq).
    private var otherFailures: [String: CoreMetrics.Counter] = [:]
    private var otherFailureCount = 0
    private var lastSeq: UInt64? = nil
    private var lastPublish: Int64 = 0
    /// Rule evaluations already added to the counters, by rule position in the current engine.
    private var exportedEvaluations: [Int] = []
    private var ruleCounters: [String: CoreMetrics.Counter] = [:]
    private var alertCounters: [String: CoreMetrics.Counter] = [:]
    private var thermostatGauges: [String: (output: Gauge, target: Gauge)] = [:]
    /// Readings held back by filters already added to the counters, by device and reason.
    private var exportedHeld: [String: [FilterChain.Reason: Int]] = [:]
    private var heldCounters: [String: CoreMetrics.Counter] = [:]
    /// Seeded once from the system: ids need uniqueness, not secrecy, and getrandom() per event costs a syscall.
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private var clockSynced = true
    private var clockCheckedAt: Int64? = nil
    var summary = PipelineSummary()
    var rules: RuleEngine
    private let actuators: Actuators
    private let bootID = WallClock.bootID()
    private var lastSave: Int64 = 0
    /// When `tick` next has something to do (CLOCK_BOOTTIME ms).
    private var nextTick: Int64 = 0
    private var stateErrorLogged = false
    private let console: Bool
    /// Per-channel filters (offset … heartbeat) and their counts.
    var filters: ReadingFilters
    /// Retained state topics and Home Assistant discovery; nil without a broker.
    var states: StatePublisher?
    var homeAssistant: HomeAssistantSettings?
    private let emittedLog = EmittedEventLog.shared

    init(config: GatewayConfig, state: StateDirectory, outbox: BoundedChannel<OutboundEvent>?, actuators: Actuators,
         console: Bool, logger: Logger, metrics: GatewayMetrics, board: StatusBoard? = nil,
         commands: BoundedChannel<ForwarderCommand>? = nil) {
        self.source = config.gateway.eventSource
        self.state = state
        self.outbox = outbox
        self.actuators = actuators
        self.console = console
        self.logger = logger
        self.metrics = metrics
        self.board = board
        self.topicPrefix = config.mqtt?.topicPrefix ?? "sensorgate"
        self.topicTemplate = config.mqtt?.topicTemplate ?? .standard
        self.gatewayID = config.gateway.id
        self.rules = RuleEngine(config: config, start: WallClock.ruleInstant())
        self.filters = ReadingFilters(config: config)
        self.states = StatePublisher(config: config, commands: commands, logger: logger)
        self.homeAssistant = config.homeAssistant
        updateTracks(config)
    }

    // MARK: The loop

    /// Runs until `.stop`: readings while the forwarder has room, control messages, rule timers.
    /// `inbox` and `control` share one wake-up (Gateway makes them so).
    func run(inbox: BoundedChannel<AdapterOutput>, control: BoundedChannel<PipelineControl>, monitor: PipelineMonitor? = nil) {
        let room = Wakeup()
        startRules()
        while true {
            monitor?.beat { summary }
            inbox.readable.reset()
            for message in control.take() {
                switch message {
                case .reconfigure(let config, let done):
                    reconfigure(config)
                    done.resume()
                case .stop:
                    for output in inbox.take() { accept(output) }
                    stopRules()
                    states?.flush(at: .max)
                    close()
                    logHeldBack()
                    publishStatus(at: WallClock.bootMilliseconds())
                    return
                case .homeAssistant(let message):
                    homeAssistant(message)
                }
            }
            var busy = false
            let hasRoom = outbox?.watchRoom(room) ?? true
            if hasRoom {
                let batch = inbox.take(max: 256)
                for output in batch { accept(output) }
                busy = !inbox.isEmpty
            }
            let wait = min(tickRulesIfDue(), tickFiltersIfDue(), flushStatesIfDue())
            if busy { continue }
            // Without room only control messages and the room itself wake us (an arriving reading
            // may, too: the loop then finds no room and waits again).
            _ = Wakeup.poll(hasRoom ? [inbox.readable.fd] : [room.fd, inbox.readable.fd], timeout: wait)
            room.reset()
        }
    }

    // MARK: Rules

    /// Restores the rule state saved by the previous run, then lets the thermostats announce
    /// their state (which drives the actuators) and acts on conditions already true.
    private func startRules() {
        let now = WallClock.ruleInstant()
        do {
            if let saved = try state.ruleState.load() {
                if let problem = RuleEngine.unusableState(saved.json) {
                    logger.warning("\(problem) in \(state.database.path); rules and thermostats start fresh")
                } else {
                    let elapsed = saved.elapsed(nowWall: now.wall.millisecondsSinceEpoch, nowBoot: now.monotonic, bootID: bootID)
                    for problem in rules.restoreState(json: saved.json, at: now, elapsed: elapsed ?? 0) { logger.warning("\(problem)") }
                    let raised = rules.raisedAlerts.count
                    let ago = elapsed.map { "saved \(DurationText.format(.seconds($0 / 1000))) ago" } ?? "saved at an implausible time: the downtime is not counted"
                    logger.info("rule state restored (\(ago)\(raised > 0 ? "; \(raised) alert(s) still raised" : ""))")
                }
            }
        } catch {
            logger.error("cannot read the saved rule state in \(state.database.path): \(error); rules start fresh")
        }
        apply(rules.start(at: now), at: now)
        states?.announce(rules)
        saveRuleState(at: now)
        publishStatus(at: now.monotonic)
    }

    /// Fires timers that are due; returns how long until the next one may fire (at most a
    /// second, so time windows follow the wall clock closely). Between deadlines it costs one
    /// clock read, however many readings pass. Once a second the status is copied out.
    private func tickRulesIfDue() -> Duration {
        let boot = WallClock.bootMilliseconds()
        board?.tick(at: boot)
        if boot - lastPublish >= 1000 { publishStatus(at: boot) }
        guard rules.hasState else { return .milliseconds(max(1, lastPublish + 1000 - boot)) }
        if boot >= nextTick {
            let now = WallClock.ruleInstant()
            apply(rules.tick(at: now), at: now)
            if now.monotonic - lastSave >= 1000 { saveRuleState(at: now) }
            let next = rules.nextDeadline(after: now).map { $0 - now.monotonic } ?? 1000
            nextTick = now.monotonic + max(1, min(1000, next))
        }
        return .milliseconds(max(1, nextTick - boot))
    }

    /// Fail-safe at a clean stop: every thermostat output goes off (nobody will watch it), and
    /// the state is saved so the next start resumes timers and min_off accounting.
    private func stopRules() {
        let now = WallClock.ruleInstant()
        apply(rules.shutDown(at: now), at: now)
        saveRuleState(at: now)
    }

    /// `cause`: the event the rules reacted to (nil for timers), named in the log lines.
    func apply(_ outputs: [RuleOutput], at now: RuleInstant, cause: Event? = nil) {
        guard !outputs.isEmpty else { return }
        for output in outputs {
            switch output {
            case .event(let subject, let data):
                let event = emit(subject: subject, data: data, time: now.wall, evaluate: false)
                switch data {
                case .thermostatCommand(let command):
                    if let thermostat = rules.thermostat(named: command.thermostat) {
                        actuators.drive(thermostat: thermostat, on: command.outputOn, seq: event?.seq)
                    }
                case .alertRaised(let alert): alertCounter(MetricName.alertsRaised, alert.rule).increment()
                case .alertResolved(let alert): alertCounter(MetricName.alertsResolved, alert.rule).increment()
                case .temperature, .motion, .humidity, .pressure, .contact, .battery: break  // rules emit no readings
                }
            case .publish(let topic, let payload, let retain, let qos):
                var metadata: Logger.Metadata = ["topic": "\(topic)"]
                if let cause { metadata["seq"] = "\(cause.seq)"; metadata["device"] = "\(cause.subject)" }
                logger.info("rule publish: \(payload.count > 60 ? String(payload.prefix(60)) + "…" : payload) to \(topic)", metadata: metadata)
                actuators.publish(topic: topic, payload: payload, retain: retain, qos: qos)
            }
        }
        // Transitions are rare and matter: save at once, so a crash right after an alert does not raise it again.
        saveRuleState(at: now)
    }

    func saveRuleState(at now: RuleInstant) {
        guard rules.hasState else { return }
        lastSave = now.monotonic
        do {
            try state.ruleState.save(.init(json: rules.stateJSON(at: now), wallMilliseconds: now.wall.millisecondsSinceEpoch,
                                           bootMilliseconds: now.monotonic, bootID: bootID))
            stateErrorLogged = false
        } catch {
            if !stateErrorLogged { logger.error("cannot save the rule state in \(state.database.path): \(error)") }
            stateErrorLogged = true
        }
    }

    /// After a reload: devices and their locations may have changed; the sequence goes on.
    /// Rules that still exist keep their timers and raised alerts; a thermostat whose actuator
    /// did not change keeps its output without a new command.
    private func reconfigure(_ config: GatewayConfig) {
        updateTracks(config)
        topicPrefix = config.mqtt?.topicPrefix ?? "sensorgate"
        topicTemplate = config.mqtt?.topicTemplate ?? .standard
        let now = WallClock.ruleInstant()
        let state = rules.stateJSON(at: now)
        var previous: [String: ActuatorConfig] = [:]
        for th in rules.thermostats { previous[th.config.name] = th.config.actuator }
        var next = RuleEngine(config: config, start: now)
        for problem in next.restoreState(json: state, at: now, elapsed: 0) { logger.warning("\(problem)") }
        let unchanged = Set(config.thermostats.filter { previous[$0.name] == $0.actuator }.map(\.name))
        rules = next
        exportedEvaluations = []
        apply(rules.resume(at: now, unchanged: unchanged), at: now)
        filters.reconfigure(config)
        homeAssistant = config.homeAssistant
        states?.reconfigure(to: config, rules: rules)
        saveRuleState(at: now)
        publishStatus(at: now.monotonic)
    }

    /// One track per configured device, in config order; a device that stays keeps its counts.
    private func updateTracks(_ config: GatewayConfig) {
        var kept: [String: DeviceTrack] = [:]
        for track in tracks { kept[track.status.id] = track }
        tracks = config.devices.map { device in
            guard var track = kept.removeValue(forKey: device.id) else { return DeviceTrack(device: device, metrics: metrics) }
            track.status.location = device.location
            track.status.type = device.eventType
            track.status.channels.removeAll { !device.eventTypes.contains($0.type) }
            return track
        }
        for gone in kept.values { gone.destroy() }
        trackIndex = [:]
        for (i, track) in tracks.enumerated() { trackIndex[track.status.id] = i }
    }

    // MARK: Status

    /// Copies the pipeline's view out for /status and the page, and brings the metrics that
    /// are read from state (rule evaluations, thermostats, raised alerts) up to date.
    private func publishStatus(at boot: Int64) {
        lastPublish = boot
        guard let board else { return }
        var status = PipelineStatus()
        status.devices = tracks.map(\.status)
        status.thermostats = rules.thermostats.map {
            ThermostatStatus(name: $0.config.name, device: $0.config.device, mode: $0.mode, target: $0.target, outputOn: $0.outputOn,
                             celsius: $0.celsius, stale: $0.isStale)
        }
        status.alerts = rules.raisedAlerts
        status.emitted = summary.emitted
        status.lastSeq = lastSeq
        board.publish(status)

        for i in tracks.indices { tracks[i].exportLastReading() }
        let counts = rules.evaluationCounts
        if exportedEvaluations.count != counts.count { exportedEvaluations = Array(repeating: 0, count: counts.count) }
        for (i, rule) in counts.enumerated() where rule.count > exportedEvaluations[i] {
            let counter = ruleCounters[rule.rule] ?? metrics.counter(MetricName.ruleEvaluations, [("rule", rule.rule)])
            ruleCounters[rule.rule] = counter
            counter.increment(by: rule.count - exportedEvaluations[i])
            exportedEvaluations[i] = rule.count
        }
        for th in status.thermostats {
            let gauges = thermostatGauges[th.name] ?? (metrics.gauge(MetricName.thermostatOutput, [("thermostat", th.name)]),
                                                        metrics.gauge(MetricName.thermostatTarget, [("thermostat", th.name)]))
            thermostatGauges[th.name] = gauges
            gauges.output.record(th.outputOn ? 1 : 0)
            gauges.target.record(th.target)
        }
        metrics.alertsActive.record(Double(status.alerts.count))
        for (device, byReason) in filters.held {
            for (reason, count) in byReason where count > exportedHeld[device]?[reason] ?? 0 {
                let key = device + "\u{0}" + reason.rawValue
                let counter = heldCounters[key] ?? metrics.counter(MetricName.heldBack, [("device", device), ("reason", reason.rawValue)])
                heldCounters[key] = counter
                counter.increment(by: count - (exportedHeld[device]?[reason] ?? 0))
                exportedHeld[device, default: [:]][reason] = count
            }
        }
    }

    private func alertCounter(_ name: String, _ rule: String) -> CoreMetrics.Counter {
        let key = name + "\u{0}" + rule
        if let counter = alertCounters[key] { return counter }
        let counter = metrics.counter(name, [("rule", rule)])
        alertCounters[key] = counter
        return counter
    }

    // MARK: Events

    func accept(_ output: AdapterOutput) {
        switch output {
        case .reading(let reading):
            var value = reading.value
            if !filters.isEmpty, value.number != nil {
                switch filters.offer(device: reading.deviceID, value: value, time: reading.time ?? WallClock.now(),
                                     at: WallClock.bootMilliseconds()) {
                case .emit(let filtered): value = filtered
                case .none:
                    readingsAgain(reading.deviceID, seq: nil)
                    return
                case .invalid(let number):
                    countFailure(device: reading.deviceID, reason: .malformed,
                                 detail: "the filters made \(JSONWriter.number(number)) into a number that is not finite; check multiply and calibrate_linear")
                    return
                }
            }
            emitReading(device: reading.deviceID, value: value, time: reading.time)
        case .failure(let device, let reason, let detail):
            countFailure(device: device, reason: reason, detail: detail)
        }
    }

    /// A reading (passed by the filters, or due from them) becomes an event of its device; the
    /// device's track counts it. A reading still queued from a device a reload removed is
    /// emitted all the same.
    func emitReading(device: String, value: ReadingValue, time: Timestamp?) {
        let i = trackIndex[device]
        let location = i.flatMap { tracks[$0].status.location }
        guard let event = emit(subject: device, data: value.eventData(location: location), time: time, evaluate: true), let i else { return }
        tracks[i].record(event)
        // A device's first value is shown at once, not up to a second later.
        if tracks[i].status.readings == 1 { lastPublish = 0 }
        readingsAgain(device, seq: event.seq)
    }

    /// A device that failed and reads again (whether or not a filter lets the reading through)
    /// says so once, when its outage's start was logged (`OutageLog`).
    func readingsAgain(_ device: String, seq: UInt64?) {
        guard let i = trackIndex[device] else { return }
        let failures = tracks[i].status.failingFor
        guard failures > 0 else { return }
        tracks[i].status.failingFor = 0
        guard tracks[i].outageLog.reading(at: WallClock.bootMilliseconds()) else { return }
        var metadata: Logger.Metadata = ["device": "\(device)"]
        if let seq { metadata["seq"] = "\(seq)" }
        logger.notice("\(device): readings again after \(failures) failed read(s)", metadata: metadata)
    }

    /// Counted always; logged at the first failure of an outage, then at powers of ten, so a
    /// dead sensor does not flood the log, nor a flapping one (`OutageLog`).
    func countFailure(device: String, reason: FailureReason, detail: String) {
        summary.failures.add(device: device, reason: reason)
        let count: Int, log: Bool
        if let i = trackIndex[device] {
            count = tracks[i].fail(reason, detail: detail)
            log = tracks[i].outageLog.failure(count: count, at: WallClock.bootMilliseconds())
        } else {
            let key = device + "\u{0}" + reason.rawValue
            let counter = otherFailures[key] ?? metrics.counter(MetricName.readFailures, [("device", device), ("reason", reason.rawValue)])
            otherFailures[key] = counter
            counter.increment()
            otherFailureCount += 1
            count = otherFailureCount
            log = isPowerOfTen(count)
        }
        if log {
            logger.warning("\(device): \(reason.rawValue): \(detail)\(count > 1 ? " (\(count) so far)" : "")",
                           metadata: ["device": "\(device)", "reason": "\(reason.rawValue)"])
        }
    }

    /// Gives the event its identity, prints it, hands it to the forwarder, lets the rules see it.
    /// nil when it could not be given a seq (counted as a failure).
    @discardableResult
    func emit(subject: String, data: EventData, time: Timestamp? = nil, evaluate: Bool) -> Event? {
        let now = WallClock.now()
        let seq: UInt64
        do {
            seq = try nextSeq()
        } catch {
            countFailure(device: subject, reason: .sequenceError,
                         detail: "cannot reserve an event sequence number in \(state.database.path): \(error); event not emitted")
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
        summary.emitted += 1
        summary.byType[event.type, default: 0] += 1
        lastSeq = seq
        metrics.events[event.type]?.increment()
        if console { ConsoleEventLine.log(event, to: logger) }
        let payload = event.cloudEventBytes()
        outbox?.force(OutboundEvent(seq: seq, topic: event.topic(template: topicTemplate, prefix: topicPrefix, gatewayID: gatewayID),
                                    payload: payload, time: event.time.millisecondsSinceEpoch, type: event.type.rawValue, subject: subject))
        emittedLog?.record(payload)
        states?.event(event, at: WallClock.bootMilliseconds())
        if evaluate, rules.hasState {
            let instant = WallClock.ruleInstant(wall: now)
            apply(rules.handle(event, at: instant), at: instant, cause: event)
        }
        return event
    }

    /// The next seq; on a full disk the state directory's reserve is freed once so the sequence
    /// can still reserve its block.
    private func nextSeq() throws(SQLiteError) -> UInt64 {
        do {
            return try state.sequence.next()
        } catch {
            guard error.isDiskFull, state.reserve.release() else { throw error }
            logger.warning("disk full: released the 1 MB reserve in the state directory so events keep their sequence numbers; free some space")
            return try state.sequence.next()
        }
    }

    /// Records the exact next seq so a clean restart leaves no gap (on a full disk, with the
    /// reserve's room).
    private func close() {
        do {
            try state.sequence.close()
        } catch {
            var failure = error
            if error.isDiskFull, state.reserve.release() {
                do { try state.sequence.close(); summary.nextSeq = state.sequence.peek; return } catch { failure = error }
            }
            logger.error("cannot save the event sequence: \(failure); the next start skips ahead (no seq repeats)")
        }
        summary.nextSeq = state.sequence.peek
    }
}
