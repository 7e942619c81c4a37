// Where adapter output becomes events: each reading gets its seq (from SQLite), a UUIDv7 id and
// a time, and goes to every sink; each failure is counted by device and reason and logged.

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

/// Failures by device and reason, for logs and, later, /metrics.
public struct FailureCounts: Sendable, Equatable {
    public private(set) var byDevice: [String: [String: Int]] = [:]

    public mutating func add(device: String, reason: String) -> Int {
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
    private var random = SystemRandomNumberGenerator()
    private var clockSynced = true
    private var clockCheckedAt: Int64? = nil
    public private(set) var failures = FailureCounts()
    public private(set) var emitted = 0

    /// Opens (or creates) `<stateDir>/sensorgate.db` for the sequence; `stateDir` must exist.
    public init(config: GatewayConfig, sinks: [any EventSink], resumeSeq: UInt64? = nil, logger: Logger) throws {
        let database = try SQLiteDatabase(path: Paths.join(config.gateway.stateDir, "sensorgate.db"))
        let sync: SQLiteDatabase.Synchronous = config.buffer.sync == .full ? .full : .normal
        try database.configure(synchronous: sync)
        self.database = database
        self.sequence = try SequenceStore(database: database, synchronous: sync, resumeAt: resumeSeq)
        self.source = config.gateway.eventSource
        self.sinks = sinks
        self.logger = logger
        self.locations = EventPipeline.locations(of: config)
    }

    private static func locations(of config: GatewayConfig) -> [String: String] {
        var result: [String: String] = [:]
        for device in config.devices { if let location = device.location { result[device.id] = location } }
        return result
    }

    /// After a reload: devices and their locations may have changed; the sequence goes on.
    public func reconfigure(_ config: GatewayConfig) {
        locations = EventPipeline.locations(of: config)
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
            emit(subject: reading.deviceID, data: data, time: reading.time)
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
    public func emit(subject: String, data: EventData, time: Timestamp? = nil) -> Event? {
        let now = WallClock.now()
        let seq: UInt64
        do {
            seq = try sequence.next()
        } catch {
            logger.error("cannot reserve an event sequence number in \(database.path): \(error); event from \(subject) not emitted")
            _ = failures.add(device: subject, reason: "sequenceError")
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
