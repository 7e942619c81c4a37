// Forwards every event to the broker, at least once and in seq order, through the offline
// buffer: the I/O loop around DeliveryStateMachine, on the forwarder's own thread. It takes what
// the pipeline hands over (events, commands, control), carries out the machine's actions
// (publish, group commit, read back, dead-letter, drop a stalled link) with the MQTT session and
// the SQLite buffer it owns, and reports their results back. All policy is in the machine; the
// connection, backoff and subscriptions are in the session.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CoreMetrics
import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime
import SensorgateStorage

public struct ForwarderSettings: Sendable {
    public var mqtt: MQTTSettings
    public var password: String?
    public var gatewayID: String
    public var buffer: BufferSettings
    /// Delivered events kept for replays; nil: none.
    public var history: HistorySettings?

    public init(mqtt: MQTTSettings, password: String?, gatewayID: String, buffer: BufferSettings, history: HistorySettings? = nil) {
        self.mqtt = mqtt
        self.password = password
        self.gatewayID = gatewayID
        self.buffer = buffer
        self.history = history
    }

    var statusTopic: String { "\(mqtt.topicPrefix)/\(gatewayID)/status" }

    /// One set of options per broker of `urls`, primary first.
    var session: [MQTTOptions] {
        mqtt.brokerList.map { url in
            var settings = mqtt
            (settings.host, settings.port, settings.useTLS) = (url.host, url.port, url.tls)
            var options = settings.sessionOptions(password: password)
            options.will = .init(topic: statusTopic, payload: "offline", retain: true)
            return options
        }
    }

    var preferPrimaryAfter: Int64 { mqtt.preferPrimaryAfter.milliseconds }

    /// What each event becomes on the wire (the CloudEvents binding, `layout: field`).
    var layout: MessageLayout { MessageLayout(mqtt) }

    var machine: DeliveryStateMachine.Settings {
        var s = DeliveryStateMachine.Settings(mode: buffer.mode, onFull: buffer.onFull, window: mqtt.maxInflight)
        s.saveAfter = buffer.saveAfter.milliseconds
        s.ackTimeout = mqtt.ackTimeout.milliseconds
        s.keepHistory = history != nil
        return s
    }
}

extension MQTTSettings {
    /// The connection options for this broker (`password` comes from `password` or `password_file`).
    func sessionOptions(password: String?) -> MQTTOptions {
        MQTTOptions(host: host, port: port, clientID: clientID, protocolV5: protocolVersion == .v5, username: username,
                    password: password, keepaliveSeconds: Int(keepalive.components.seconds), useTLS: useTLS,
                    caFile: tls?.caFile?.value, certFile: tls?.certFile?.value, keyFile: tls?.keyFile?.value,
                    insecure: tls?.insecure ?? false)
    }
}

/// Messages to the forwarder's thread.
public enum ForwarderControl: Sendable {
    case reconfigure(ForwarderSettings)
    /// The MQTT input devices' topics on this broker.
    case subscriptions([MQTTSession.Subscription])
    /// Publish what can be published within the grace period, save the rest, say `offline`.
    case stop
}

/// Confined to the forwarder's thread: made there, used there, never shared.
final class MQTTForwarder {
    private var settings: ForwarderSettings
    private let buffer: OfflineBuffer
    private let inbox: BoundedChannel<OutboundEvent>
    private let commands: BoundedChannel<ForwarderCommand>
    private let control: BoundedChannel<ForwarderControl>
    private let status: ForwarderStatus
    private let pressure: Pressure
    /// Since when events have been left in the inbox because memory was full (see run).
    private var heldSince: Int64? = nil
    /// A backlog being sent after a connect: since when, and how many events it held then.
    private var draining: (since: Int64, count: Int)? = nil
    private let backlog: LiveBacklog?
    private let logger: Logger
    private let session: MQTTSession
    private var machine: DeliveryStateMachine
    private var layout: MessageLayout
    /// In-flight publishes: libmosquitto's message id to the event's seq and when it went out
    /// (ns, monotonic), for the PUBACK latency.
    private var mids: [Int32: (seq: UInt64, sentAt: UInt64)] = [:]
    private let metrics: GatewayMetrics
    /// The machine's counters as last added to the metrics.
    private var exported = DeliveryStateMachine.Counters()
    private var exportedConnects = 0
    private var disconnects = 0
    private var exportedDisconnects = 0
    private var statusAt: Int64 = 0
    private var downSince: Int64? = MQTTSession.now()
    private var waitingAtDown = 0
    /// The oldest stored event (seq, time), read from buffer.db at most once a second.
    private var oldest: (seq: UInt64, time: Timestamp?)? = nil
    private var oldestCheckedAt: Int64 = 0
    private var commandQueue = CommandQueue()
    private var diskErrors = 0
    private var diskFailing = false
    /// sensorgate.db's record of this buffer's commits, written at most once a second and at stop.
    private let record: BufferRecord?
    private var recordedGeneration: Int64 = -1
    private var recordedAt: Int64 = 0
    private let reserve: DiskReserve?
    /// The wall clock for the history's `keep`, nil while the host clock is not synchronized
    /// (checked every 10 s).
    private var clockSynced = true
    private var clockCheckedAt: Int64? = nil

    init(settings: ForwarderSettings, buffer: OfflineBuffer, record: BufferRecord? = nil, reserve: DiskReserve? = nil,
         inbox: BoundedChannel<OutboundEvent>,
         commands: BoundedChannel<ForwarderCommand>, control: BoundedChannel<ForwarderControl>,
         status: ForwarderStatus, pressure: Pressure, metrics: GatewayMetrics, backlog: LiveBacklog? = nil, logger: Logger) {
        self.settings = settings
        self.metrics = metrics
        self.buffer = buffer
        self.record = record
        self.reserve = reserve
        self.inbox = inbox
        self.commands = commands
        self.control = control
        self.status = status
        self.pressure = pressure
        self.backlog = backlog
        self.logger = logger
        session = MQTTSession(brokers: settings.session, preferPrimaryAfter: settings.preferPrimaryAfter, logger: logger)
        layout = settings.layout
        machine = DeliveryStateMachine(settings: settings.machine, storedCount: buffer.eventCount, storedNewest: buffer.newestSeq)
        waitingAtDown = buffer.eventCount
        applyHistory(settings.history)
    }

    /// Turns the history on or off (off deletes what it held) or changes its limits.
    private func applyHistory(_ history: HistorySettings?) {
        do {
            let deleted = try buffer.setHistory(history.map(HistoryRetention.init))
            if deleted > 0 { logger.notice("'history' is off: deleted the \(deleted) delivered event(s) it kept") }
        } catch {
            logger.error("cannot update the event history in \(buffer.path): \(error)")
        }
    }

    private func wallClockForHistory() -> Int64? {
        let now = MQTTSession.now()
        if clockCheckedAt.map({ now - $0 >= 10_000 }) ?? true {
            clockSynced = WallClock.isSynchronized()
            clockCheckedAt = now
        }
        return clockSynced ? WallClock.now().millisecondsSinceEpoch : nil
    }

    /// The inbox, the commands and the control channel share one wake-up (Gateway makes them
    /// so): one fd to poll beside the socket, one read to clear it.
    func run() {
        while true {
            status.heartbeat.beat()
            var now = MQTTSession.now()
            inbox.readable.reset()
            takeControl(at: now)
            // While the broker keeps up, take only what memory holds: the rest waits in the inbox
            // and slows the pipeline, instead of sending the memory queue to disk. Whatever it
            // costs (SQLite), the inbox is taken once half full, so sources that cannot wait
            // (MQTT inputs) never overflow behind a slow broker, and once events have waited there
            // half of save_after, so nothing stays unsaved longer than it says.
            var limit = 4_096
            if let room = machine.memoryRoom, inbox.count < inbox.capacity / 2,
               now - (heldSince ?? now) < machine.settings.saveAfter / 2 {
                limit = min(limit, room)
            }
            let events = inbox.take(max: limit)
            if !events.isEmpty { machine.eventsArrived(events, at: now) }
            let heldBack = !inbox.isEmpty
            heldSince = heldBack ? heldSince ?? now : nil
            takeCommands()
            var wake: Int64? = nil
            actions: while true {
                now = MQTTSession.now()
                switch machine.nextAction(at: now) {
                case .publish(let batch):
                    publish(batch, at: now)
                case .commit(let commit):
                    self.commit(commit, at: now)
                case .read(let after, let limit):
                    do {
                        machine.rowsRead(try buffer.read(after: after, limit: limit), limit: limit)
                    } catch {
                        logger.error("cannot read the offline buffer \(buffer.path): \(error)")
                        wake = now + 1_000
                        break actions
                    }
                case .deadLetter(let event, let reason):
                    do {
                        try buffer.moveToDeadLetter(event, reason: Int(reason), at: WallClock.now().millisecondsSinceEpoch)
                        logger.error("the broker refused seq \(event.seq) on \(event.topic) \(machine.settings.refusalLimit) times (reason 0x\(String(reason, radix: 16))); moved to the dead-letter table",
                                     metadata: Self.metadata(event))
                        machine.deadLettered(seq: event.seq, ok: true, at: now)
                    } catch {
                        logger.error("cannot move seq \(event.seq) to the dead-letter table: \(error)", metadata: Self.metadata(event))
                        machine.deadLettered(seq: event.seq, ok: false, at: now)
                    }
                case .disconnect(let reason):
                    session.drop(reason: reason)
                    connectionLost(at: now)
                case .finish(let lost):
                    if lost > 0 {
                        logger.error("\(lost) event(s) could not be saved before stopping (the state directory stays unwritable) and are lost; they are counted as dropped")
                    }
                    finish()
                    return
                case .idle(let until):
                    wake = until
                    break actions
                }
            }
            sendCommands()
            if let d = draining, machine.storedCount == 0 {
                let ms = MQTTSession.now() - d.since
                logger.notice("the buffer is empty again: \(d.count) buffered event(s) sent in \(ms / 1000).\(ms % 1000 / 100) s")
                draining = nil
            }
            publishStatus(force: false, heldBack: heldBack)
            writeRecord(force: false)
            // Events left in the inbox: back as soon as memory has room (an acknowledgement
            // wakes us), and at least every 50 ms to see whether the inbox is filling up.
            let more = heldBack ? machine.memoryRoom.map { $0 > 0 } ?? true : !inbox.isEmpty
            let until = more ? MQTTSession.now() : heldBack ? min(wake ?? .max, MQTTSession.now() + 50) : wake
            let happened = session.poll(wakeFDs: [inbox.readable.fd], until: until)
            if !happened.isEmpty {
                let clock = Self.nanoseconds()
                for event in happened { handle(event, clock: clock) }
            }
        }
    }

    private func takeControl(at now: Int64) {
        for message in control.take() {
            switch message {
            case .reconfigure(let new):
                settings = new
                session.reconfigure(new.session, preferPrimaryAfter: new.preferPrimaryAfter)
                layout = new.layout
                machine.updateSettings(new.machine)
                buffer.setLimits(maxEvents: new.buffer.maxEvents, maxBytes: new.buffer.maxBytes, onFull: new.buffer.onFull)
                applyHistory(new.history)
                do { try buffer.setSynchronous(new.buffer.sync) } catch { logger.error("cannot change the buffer's sync: \(error)") }
            case .subscriptions(let list):
                session.setSubscriptions(list)
            case .stop:
                machine.stop(at: now)
            }
        }
    }

    private func takeCommands() {
        for command in commands.take() where commandQueue.add(command) {
            if commandQueue.dropped == 1 || isPowerOfTen(commandQueue.dropped) {
                logger.warning("more than \(CommandQueue.limit) rule publishes waiting for the broker: dropped the oldest (\(commandQueue.dropped) so far)")
            }
        }
    }

    /// Each event's own message is tracked (its PUBACK settles the event); companions
    /// (`layout: field`) follow it untracked.
    private func publish(_ batch: [OutboundEvent], at now: Int64) {
        let qos = settings.mqtt.qos
        let sentAt = Self.nanoseconds()
        for event in batch {
            for message in layout.messages(for: event) {
                let properties = MQTTProperties(contentType: message.contentType, userProperties: message.userProperties,
                                                messageExpiry: message.messageExpiry)
                guard let mid = session.publish(topic: message.topic, payload: message.payload, qos: qos, retain: false,
                                                properties: properties) else {
                    connectionLost(at: now)  // the rest of the batch stays in flight until then: it is requeued
                    return
                }
                if message.isEvent { mids[mid] = (event.seq, sentAt) }
            }
        }
    }

    private func commit(_ commit: DeliveryStateMachine.Commit, at now: Int64) {
        do {
            let result = try buffer.commit(commit, now: machine.settings.keepHistory ? wallClockForHistory() : nil)
            machine.committed(result, at: now)
            if diskFailing {
                diskFailing = false
                logger.notice("the offline buffer \(buffer.path) can be written again")
            }
            if result.dropped > 0 {
                logger.warning("offline buffer full (\(settings.buffer.maxEvents) events / \(settings.buffer.maxBytes) bytes): dropped \(result.dropped) event(s) (\(settings.buffer.onFull.rawValue)), \(machine.counters.dropped) in all")
            }
        } catch {
            // Stopping on a full disk: the reserve is freed so the last events can be saved.
            if error.isDiskFull, machine.isStopping, let reserve, reserve.release() {
                logger.warning("disk full while stopping: released the 1 MB reserve in the state directory to save the remaining events")
                return self.commit(commit, at: now)
            }
            machine.commitFailed(at: now)
            diskErrors += 1
            if !diskFailing || isPowerOfTen(diskErrors) {
                let hint = error.isDiskFull ? " (disk full; retrying every second in small batches, events are kept in memory and still published meanwhile)" : ""
                logger.error("cannot write the offline buffer \(buffer.path): \(error)\(hint)\(diskErrors > 1 ? " (\(diskErrors) failed writes so far)" : "")")
            }
            diskFailing = true
        }
    }

    private func sendCommands() {
        guard session.isConnected else { return }
        while let command = commandQueue.removeFirst() {
            guard session.publish(topic: command.topic, payload: command.payload, qos: command.qos, retain: command.retain) != nil else {
                commandQueue.pushFront(command)
                connectionLost(at: MQTTSession.now())
                return
            }
        }
    }

    /// `clock`: when the poll returned (ns), the PUBACKs' arrival.
    private func handle(_ event: MQTTSession.Event, clock: UInt64) {
        let now = MQTTSession.now()
        switch event {
        case .connected:
            mids.removeAll()
            let stored = machine.storedCount
            if stored > 0 {
                logger.notice("sending \(stored) buffered event(s) first")
                draining = (now, stored)
            }
            machine.connected(at: now)
            // The payload stays `online` (the contract); with MQTT 5 it also says which version runs.
            _ = session.publish(topic: settings.statusTopic, payload: Array("online".utf8), qos: 1, retain: true,
                                properties: MQTTProperties(userProperties: [UserProperty(name: "version", value: SensorgateVersion.current)]))
            commandQueue.connected()
            downSince = nil
            publishStatus(force: true)
        case .lost:
            connectionLost(at: now)
        case .acknowledged(let mid, let reason):
            if let sent = mids.removeValue(forKey: mid) {
                metrics.ackLatency.recordNanoseconds(Int64(clock &- sent.sentAt))
                machine.acknowledged(seq: sent.seq, reason: reason, at: now)
            }
        }
    }

    private func connectionLost(at now: Int64) {
        if downSince == nil {
            downSince = now
            waitingAtDown = waiting
        }
        guard machine.connected else { return }
        mids.removeAll()
        draining = nil
        disconnects += 1
        machine.connectionLost(at: now)
        publishStatus(force: true)
    }

    /// Events neither acknowledged nor in flight.
    private var waiting: Int { machine.storedCount + machine.queuedCount + machine.pendingCount }

    /// Tells the gateway about the link and the buffer (at most ten times a second, and at each
    /// change of the link), and adds what the machine counted since to the metrics.
    private func publishStatus(force: Bool, heldBack: Bool = false) {
        pressure.set(machine.underPressure || heldBack)
        backlog?.set(machine.isBackedUp)
        let now = MQTTSession.now()
        guard force || now - statusAt >= 100 else { return }
        statusAt = now
        if machine.storedCount == 0 {
            oldest = nil
        } else if oldest == nil || now - oldestCheckedAt >= 1_000 {
            oldestCheckedAt = now
            if let row = try? buffer.oldest(), row.seq != oldest?.seq { oldest = (row.seq, CloudEventTime.parse(row.payload)) }
        }
        let c = machine.counters
        status.update { s in
            s.connected = session.isConnected
            s.attempted = session.attempts > 0
            s.connects = session.connects
            s.disconnects = disconnects
            s.downSince = downSince
            s.inFlight = machine.inflightCount
            s.waiting = waiting
            s.waitingAtDown = waitingAtDown
            s.stored = machine.storedCount
            s.storedBytes = buffer.byteCount
            s.oldest = oldest?.time
            s.maxEvents = settings.buffer.maxEvents
            s.maxBytes = settings.buffer.maxBytes
            s.broker = session.broker
            s.counters = c
        }
        let d = metrics.delivery
        func add(_ counter: CoreMetrics.Counter, _ now: Int, _ before: Int) { if now > before { counter.increment(by: now - before) } }
        add(d.published, c.published, exported.published)
        add(d.acknowledged, c.acknowledged, exported.acknowledged)
        add(d.refused, c.refused, exported.refused)
        add(d.deadLettered, c.deadLettered, exported.deadLettered)
        add(d.written, c.saved, exported.saved)
        add(d.dropped, c.dropped, exported.dropped)
        add(d.writeFailures, c.commitFailures, exported.commitFailures)
        add(d.stalls, c.stalls, exported.stalls)
        add(d.connects, session.connects, exportedConnects)
        add(d.disconnects, disconnects, exportedDisconnects)
        exported = c
        exportedConnects = session.connects
        exportedDisconnects = disconnects
        metrics.uplinkUp.record(session.isConnected ? 1 : 0)
        metrics.inFlight.record(Double(machine.inflightCount))
        metrics.bufferEvents.record(Double(machine.storedCount))
        metrics.bufferBytes.record(Double(buffer.byteCount))
    }

    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Tells sensorgate.db how far this buffer has got (see BufferRecord): a later start that
    /// finds buffer.db behind it reports the events lost with it.
    private func writeRecord(force: Bool) {
        guard let record, buffer.generation != recordedGeneration else { return }
        let now = MQTTSession.now()
        guard force || now - recordedAt >= 1_000 else { return }
        // A failed write (a full disk) is retried a second later too, not on every turn of the loop.
        recordedAt = now
        do {
            try record.write(.init(generation: buffer.generation, count: buffer.eventCount, newest: buffer.newestSeq))
            recordedGeneration = buffer.generation
        } catch {
            logger.debug("cannot record the buffer's state in sensorgate.db: \(error)")
        }
    }

    private func finish() {
        writeRecord(force: true)
        session.close(final: (settings.statusTopic, "offline"))
        publishStatus(force: true)
        let c = machine.counters
        logger.notice("forwarder stopped: \(c.acknowledged) acknowledged, \(buffer.eventCount) left in the buffer (\(c.published) published, \(c.saved) buffered, \(c.dropped) dropped, \(c.refused) refused, \(c.deadLettered) dead-lettered, \(session.connects) connection(s), \(diskErrors) buffer write error(s))")
    }
}

extension MQTTForwarder {
    /// An event's seq, device and topic as log metadata (the device is the topic's last level).
    static func metadata(_ event: OutboundEvent) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["seq": "\(event.seq)", "topic": "\(event.topic)"]
        if let slash = event.topic.lastIndex(of: "/") { metadata["device"] = "\(event.topic[event.topic.index(after: slash)...])" }
        return metadata
    }
}

/// The `time` of a CloudEvent as the gateway writes it, without parsing the whole object.
enum CloudEventTime {
    static func parse(_ payload: [UInt8]) -> Timestamp? {
        let key = Array("\"time\":\"".utf8)
        guard payload.count > key.count else { return nil }
        var i = 0
        while i + key.count < payload.count {
            if payload[i] == key[0], Array(payload[i..<(i + key.count)]) == key {
                let start = i + key.count
                guard let end = payload[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return Timestamp(rfc3339: String(decoding: payload[start..<end], as: UTF8.self))
            }
            i += 1
        }
        return nil
    }
}
