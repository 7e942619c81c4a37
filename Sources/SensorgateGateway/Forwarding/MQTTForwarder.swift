// Forwards every event to the broker, at least once and in seq order, through the offline
// buffer: the I/O loop around DeliveryStateMachine, on the forwarder's own thread. It takes what
// the pipeline hands over (events, commands, control), carries out the machine's actions
// (publish, group commit, read back, dead-letter, drop a stalled link) with the MQTT session and
// the SQLite buffer it owns, and reports their results back. All policy is in the machine; the
// connection, backoff and subscriptions are in the session.

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

    public init(mqtt: MQTTSettings, password: String?, gatewayID: String, buffer: BufferSettings) {
        self.mqtt = mqtt
        self.password = password
        self.gatewayID = gatewayID
        self.buffer = buffer
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
    private let logger: Logger
    private let session: MQTTSession
    private var machine: DeliveryStateMachine
    private var layout: MessageLayout
    /// In-flight publishes: libmosquitto's message id to the event's seq.
    private var mids: [Int32: UInt64] = [:]
    private var commandQueue = CommandQueue()
    private var diskErrors = 0
    private var diskFailing = false
    /// sensorgate.db's record of this buffer's commits, written at most once a second and at stop.
    private let record: BufferRecord?
    private var recordedGeneration: Int64 = -1
    private var recordedAt: Int64 = 0
    private let reserve: DiskReserve?

    init(settings: ForwarderSettings, buffer: OfflineBuffer, record: BufferRecord? = nil, reserve: DiskReserve? = nil,
         inbox: BoundedChannel<OutboundEvent>,
         commands: BoundedChannel<ForwarderCommand>, control: BoundedChannel<ForwarderControl>,
         status: ForwarderStatus, pressure: Pressure, logger: Logger) {
        self.settings = settings
        self.buffer = buffer
        self.record = record
        self.reserve = reserve
        self.inbox = inbox
        self.commands = commands
        self.control = control
        self.status = status
        self.pressure = pressure
        self.logger = logger
        session = MQTTSession(brokers: settings.session, preferPrimaryAfter: settings.preferPrimaryAfter, logger: logger)
        layout = settings.layout
        machine = DeliveryStateMachine(settings: settings.machine, storedCount: buffer.eventCount, storedNewest: buffer.newestSeq)
    }

    /// The inbox, the commands and the control channel share one wake-up (Gateway makes them
    /// so): one fd to poll beside the socket, one read to clear it.
    func run() {
        while true {
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
                        try buffer.moveToDeadLetter(event, reason: Int(reason))
                        logger.error("the broker refused seq \(event.seq) on \(event.topic) \(machine.settings.refusalLimit) times (reason 0x\(String(reason, radix: 16))); moved to the dead-letter table",
                                     metadata: ["seq": "\(event.seq)", "topic": "\(event.topic)"])
                        machine.deadLettered(seq: event.seq, ok: true, at: now)
                    } catch {
                        logger.error("cannot move seq \(event.seq) to the dead-letter table: \(error)", metadata: ["seq": "\(event.seq)"])
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
            publishStatus(heldBack: heldBack)
            writeRecord(force: false)
            // Events left in the inbox: back as soon as memory has room (an acknowledgement
            // wakes us), and at least every 50 ms to see whether the inbox is filling up.
            let more = heldBack ? machine.memoryRoom.map { $0 > 0 } ?? true : !inbox.isEmpty
            let until = more ? MQTTSession.now() : heldBack ? min(wake ?? .max, MQTTSession.now() + 50) : wake
            for event in session.poll(wakeFDs: [inbox.readable.fd], until: until) {
                handle(event)
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
        for event in batch {
            for message in layout.messages(for: event) {
                let properties = MQTTProperties(contentType: message.contentType, userProperties: message.userProperties,
                                                messageExpiry: message.messageExpiry)
                guard let mid = session.publish(topic: message.topic, payload: message.payload, qos: qos, retain: false,
                                                properties: properties) else {
                    connectionLost(at: now)  // the rest of the batch stays in flight until then: it is requeued
                    return
                }
                if message.isEvent { mids[mid] = event.seq }
            }
        }
    }

    private func commit(_ commit: DeliveryStateMachine.Commit, at now: Int64) {
        do {
            let result = try buffer.commit(commit)
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

    private func handle(_ event: MQTTSession.Event) {
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
            _ = session.publish(topic: settings.statusTopic, payload: Array("online".utf8), qos: 1, retain: true)
            commandQueue.connected()
        case .lost:
            connectionLost(at: now)
        case .acknowledged(let mid, let reason):
            if let seq = mids.removeValue(forKey: mid) { machine.acknowledged(seq: seq, reason: reason, at: now) }
        }
    }

    private func connectionLost(at now: Int64) {
        guard machine.connected else { return }
        mids.removeAll()
        draining = nil
        machine.connectionLost(at: now)
    }

    private func publishStatus(heldBack: Bool = false) {
        status.update(.init(connected: session.isConnected, attempted: session.attempts > 0, connects: session.connects,
                            stored: machine.storedCount, counters: machine.counters))
        pressure.set(machine.underPressure || heldBack)
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
        publishStatus()
        let c = machine.counters
        logger.notice("forwarder stopped: \(c.acknowledged) acknowledged, \(buffer.eventCount) left in the buffer (\(c.published) published, \(c.saved) buffered, \(c.dropped) dropped, \(c.refused) refused, \(c.deadLettered) dead-lettered, \(session.connects) connection(s), \(diskErrors) buffer write error(s))")
    }
}
