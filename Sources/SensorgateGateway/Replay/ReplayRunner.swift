// The I/O loop around ReplayStateMachine, on a thread of its own: reads the history through a
// HistoryReader (its own SQLite connection), publishes with its own MQTTSession (or prints), and
// reports results back. Used by the gateway's replay service (requests from the broker) and by
// `sensorgate replay` (one request from the command line). All policy is in the machine.

import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime
import SensorgateStorage

/// Messages to a replay thread.
public enum ReplayControl: Sendable {
    case reconfigure(ReplaySettings)
    case stop
}

/// What the replay service needs: the broker the gateway publishes to, and the history's bounds.
public struct ReplaySettings: Sendable {
    public var mqtt: MQTTSettings
    public var password: String?
    public var gatewayID: String
    public var history: HistorySettings

    public init(mqtt: MQTTSettings, password: String?, gatewayID: String, history: HistorySettings) {
        self.mqtt = mqtt
        self.password = password
        self.gatewayID = gatewayID
        self.history = history
    }

    var base: String { "\(mqtt.topicPrefix)/\(gatewayID)" }

    /// A connection of its own beside the forwarder's, to the same broker with the same
    /// credentials: `<client_id>-replay`.
    var session: MQTTOptions {
        var options = mqtt.sessionOptions(password: password)
        options.clientID += "-replay"
        return options
    }

    func machine(target: ReplayStateMachine.Target = .replayTopics) -> ReplayStateMachine.Settings {
        ReplayStateMachine.Settings(base: base, history: history, target: target)
    }
}

/// Confined to the thread that made it.
final class ReplayRunner {
    enum Sink {
        case session(MQTTSession, qos: Int)
        case print((ReplayStateMachine.Message) -> Void)
    }

    private(set) var machine: ReplayStateMachine
    private let reader: HistoryReader
    private let sink: Sink
    private let logger: Logger
    private var mids: [Int32: UInt64] = [:]
    private let emittedLog = EmittedEventLog.shared
    /// The forwarder's word on live delivery; nil for the command line (no live delivery here).
    private let backlog: LiveBacklog?

    init(machine: ReplayStateMachine, reader: HistoryReader, sink: Sink, backlog: LiveBacklog? = nil, logger: Logger) {
        self.machine = machine
        self.reader = reader
        self.sink = sink
        self.backlog = backlog
        self.logger = logger
    }

    /// Carries out actions until the machine is idle; returns when to be called again (nil: on
    /// an input) and whether the machine has finished.
    func work() -> (wake: Int64?, finished: Bool) {
        while true {
            let now = MQTTSession.now()
            if let backlog { machine.liveBackedUp(backlog.isBackedUp) }
            switch machine.nextAction(at: now) {
            case .inspect(let query):
                do {
                    let bounds = try reader.bounds()
                    let span = query.isTimeWindow ? try reader.span(since: query.since ?? .min, until: query.until ?? .max) : nil
                    machine.inspected(bounds: bounds, span: span, oldestTime: try reader.oldestTime(), at: now)
                } catch {
                    logger.error("cannot read the event history in \(reader.path): \(error)")
                    machine.historyFailed("\(error)")
                }
            case .read(let after, let through, let query, let limit):
                do {
                    let rows = try reader.read(after: after, through: through, query: query, limit: limit)
                    machine.rowsRead(rows, limit: limit, oldest: try reader.bounds().oldest)
                } catch {
                    logger.error("cannot read the event history in \(reader.path): \(error)")
                    machine.historyFailed("\(error)")
                }
            case .publish(let messages):
                publish(messages, at: now)
            case .finished:
                return (nil, true)
            case .idle(let until):
                return (until, false)
            }
        }
    }

    private func publish(_ messages: [ReplayStateMachine.Message], at now: Int64) {
        switch sink {
        case .print(let output):
            for message in messages {
                output(message)
                if let seq = message.seq { machine.acknowledged(seq: seq) }
            }
        case .session(let session, let qos):
            for message in messages {
                guard let mid = session.publish(topic: message.topic, payload: message.payload, qos: message.seq == nil ? 1 : qos,
                                                retain: false) else {
                    lost(at: now)
                    return
                }
                if let seq = message.seq {
                    mids[mid] = seq
                    emittedLog?.record(message.payload)
                }
            }
        }
    }

    /// What the session said.
    func handle(_ event: MQTTSession.Event) {
        let now = MQTTSession.now()
        switch event {
        case .connected:
            mids.removeAll()
            machine.connected(at: now)
        case .lost:
            lost(at: now)
        case .acknowledged(let mid, let reason):
            if let seq = mids.removeValue(forKey: mid) { machine.acknowledged(seq: seq, refusal: reason >= 0x80 ? reason : nil) }
        }
    }

    private func lost(at now: Int64) {
        mids.removeAll()
        if machine.connected { machine.connectionLost(at: now) }
    }

    func stop() { machine.stop(at: MQTTSession.now()) }

    func submit(_ request: ReplayRequest) { machine.submit(request) }

    func requestReceived(_ payload: [UInt8]) { machine.requestReceived(payload) }

    func reconfigure(_ settings: ReplayStateMachine.Settings) { machine.updateSettings(settings) }

    func takeFinished() -> [ReplayStateMachine.Report] { machine.takeFinished() }
}
