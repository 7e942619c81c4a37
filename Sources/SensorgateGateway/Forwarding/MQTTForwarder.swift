// Forwards every event to the broker, at least once and in seq order, through the offline buffer.
//
// One thread owns the MQTT connection, the in-flight window and the SQLite buffer, and runs a
// poll() loop over the broker socket and a wake-up pipe. Events arrive through `deliver` (any
// thread) into a small inbox. Routing, per event:
//   mode offline: straight to the broker while connected, nothing is buffered and the memory
//     queue is short; otherwise into SQLite (group commits), drained in seq order before any newer
//     event once the broker is back;
//   mode always: into SQLite first, published from there.
// A buffered event is deleted only after its PUBACK. libmosquitto never holds more than
// `max_inflight` of our messages, and a fresh handle is made for each connection, so its
// unbounded internal queue and reconnect logic never come into play; the backoff is ours.

import Foundation
import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateStorage

public final class MQTTForwarder: EventSink, @unchecked Sendable {
    public struct Settings: Sendable {
        public var mqtt: MQTTSettings
        public var password: String?
        public var gatewayID: String
        public var buffer: BufferSettings
        public var bufferPath: String
        /// In-memory queue limit (offline mode) before events spill to SQLite.
        public var memoryQueueLimit = 2000
        /// Only subscriptions, for `mqtt` devices on another broker: no events, no buffer, no status.
        public var inputOnly = false
    }

    struct Counters: Sendable {
        public var published = 0
        public var acknowledged = 0
        public var buffered = 0
        public var dropped = 0
        public var refused = 0
        public var deadLettered = 0
        public var diskErrors = 0
        public var connects = 0
    }

    private let settings: Settings
    private let logger: Logger
    private let statusTopic: String

    // Shared with other threads, under `lock`.
    private let lock = NSLock()
    /// Signalled whenever the loop takes the inbox, for a `deliver` waiting on a full one.
    private let inboxTaken = NSCondition()
    private var loopRunning = false
    /// Events handed over but not yet taken by the loop; beyond this `deliver` waits, so a
    /// producer faster than the disk cannot grow memory without bound.
    static let inboxLimit = 5_000
    private var inbox: [OfflineBuffer.Entry] = []
    private var commandInbox: [Command] = []
    private var draining = false
    private var stopDeadline: Date?
    private var subscriptions: [(filter: String, deliver: @Sendable (String, [UInt8]) -> Void)] = []
    private var resubscribe = false
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    // Owned by the forwarder thread.
    private let buffer: OfflineBuffer?
    private var connection: MQTTConnection?
    private var connected = false
    private var connectedSince = ContinuousClock.now
    private var teardown = false
    /// Whether this connection's end was already explained in the log.
    private var failureLogged = false
    /// The last error a libmosquitto loop call returned.
    private var loopError: Int32 = 0
    /// Events on their way to the broker without touching the disk; `memoryHead` is the first
    /// not yet published (an index, so taking one is O(1)).
    private var memoryQueue: [OfflineBuffer.Entry] = []
    private var memoryHead = 0
    private var memoryCount: Int { memoryQueue.count - memoryHead }

    /// The events still waiting in memory, in order, and an empty queue.
    private func takeMemoryQueue() -> [OfflineBuffer.Entry] {
        defer { memoryQueue.removeAll(keepingCapacity: true); memoryHead = 0 }
        return Array(memoryQueue[memoryHead...])
    }
    private var pendingWrites: [OfflineBuffer.Entry] = []
    private var acknowledgedRows: [UInt64] = []
    private var inflight: [Int32: (entry: OfflineBuffer.Entry, fromBuffer: Bool)] = [:]
    private var bufferCursor: UInt64 = 0
    /// When the oldest uncommitted row change was queued.
    private var pendingSince: ContinuousClock.Instant? = nil
    static let commitRows = 2000
    static let commitDelay = Duration.milliseconds(50)
    /// Rows read from the buffer and not yet published, in seq order.
    private var readahead: [OfflineBuffer.Entry] = []
    private var readaheadIndex = 0
    static let readaheadLimit = 2000
    private var refusals: [UInt64: Int] = [:]
    private var backoff = ReconnectBackoff()
    private var nextConnect = ContinuousClock.now
    private var retryCommitAt: ContinuousClock.Instant? = nil
    private var counters = Counters()
    /// Rule publishes and actuator commands waiting for a connection, oldest first.
    private var commands: [Command] = []
    /// The latest command per actuator, sent again after every reconnect so the relay agrees.
    private var asserted: [String: Command] = [:]
    private var commandsDropped = 0
    private var random = SystemRandomNumberGenerator()

    /// Opens the buffer (moving an unreadable file aside with an error). Call `start()` to connect.
    public init(settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        statusTopic = "\(settings.mqtt.topicPrefix)/\(settings.gatewayID)/status"
        let buffer = settings.inputOnly ? nil : try OfflineBuffer(
            path: settings.bufferPath, maxEvents: settings.buffer.maxEvents, maxBytes: settings.buffer.maxBytes,
            onFull: settings.buffer.onFull == .dropOldest ? .dropOldest : .dropNewest,
            synchronous: settings.buffer.sync == .full ? .full : .normal)
        self.buffer = buffer
        if let aside = buffer?.movedAside {
            logger.error("the offline buffer \(settings.bufferPath) could not be read and was moved to \(aside); starting an empty buffer")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw FileSystemError(path: "pipe", message: String(cString: strerror(errno))) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, O_NONBLOCK)
        if let buffer, !buffer.isEmpty {
            logger.notice("offline buffer holds \(buffer.eventCount) event(s) from before; they go first")
        }
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Where `mode: always` resumes: the seq after the last event committed by the previous run,
    /// which used `mode: always` too (offline runs clear it). Call before `start()`.
    public func resumeSeq() throws -> UInt64? {
        guard let buffer else { return nil }
        if settings.buffer.mode == .always { return try buffer.storedNextSeq() }
        try buffer.clearStoredNextSeq()
        return nil
    }

    /// The MQTT input subscriptions (topic filter, handler); replaced on reload, (re)subscribed
    /// on every connection.
    public func setSubscriptions(_ list: [(String, @Sendable (String, [UInt8]) -> Void)]) {
        lock.withLock {
            subscriptions = list.map { (filter: $0.0, deliver: $0.1) }
            resubscribe = true
        }
        wake()
    }

    public func start() {
        lock.withLock { loopRunning = true }
        let thread = Thread { [self] in
            runLoop()
            lock.withLock { loopRunning = false }
            finished.signal()
        }
        thread.name = "mqtt-forwarder"
        thread.start()
        self.thread = thread
    }

    /// Waits up to `grace` for in-flight events to be acknowledged, commits everything else to
    /// the buffer, publishes `offline` and disconnects.
    public func stop(grace: Duration = .seconds(2)) {
        lock.withLock { stopDeadline = Date().addingTimeInterval(grace.secondsDouble) }
        wake()
        if thread != nil { finished.wait() }
        thread = nil
    }

    // MARK: EventSink

    public func deliver(_ event: Event) {
        let entry = OfflineBuffer.Entry(seq: event.seq, topic: event.topic(prefix: settings.mqtt.topicPrefix, gatewayID: settings.gatewayID),
                                        payload: event.cloudEventBytes())
        while true {
            // (full, first): the loop needs a wake-up only when the inbox was empty.
            let (full, first) = lock.withLock { () -> (Bool, Bool) in
                if inbox.count >= Self.inboxLimit, loopRunning { return (true, false) }
                inbox.append(entry)
                return (false, inbox.count == 1)
            }
            if !full {
                if first { wake() }
                return
            }
            wake()
            inboxTaken.lock()
            _ = inboxTaken.wait(until: Date().addingTimeInterval(0.05))
            inboxTaken.unlock()
        }
    }

    /// A message that is not an event: a rule's `publish`, or an actuator command. Actuator
    /// commands carry a `key`: only the latest per key is kept, and it is sent again after every
    /// reconnect (a relay must end up in the state the thermostat believes in).
    public struct Command: Sendable {
        public var topic: String
        public var payload: [UInt8]
        public var retain: Bool
        public var qos: Int
        public var key: String?

        public init(topic: String, payload: [UInt8], retain: Bool, qos: Int, key: String? = nil) {
            self.topic = topic
            self.payload = payload
            self.retain = retain
            self.qos = qos
            self.key = key
        }
    }

    /// Commands wait in memory while the broker is away (at most `commandLimit`; beyond, the
    /// oldest rule publishes are dropped and counted). They are not written to the buffer:
    /// after a restart the thermostats announce their state again anyway.
    public static let commandLimit = 1000

    public func send(_ command: Command) {
        lock.withLock { commandInbox.append(command) }
        wake()
    }

    /// True while the broker is connected but cannot take events as fast as they come: the memory
    /// queue is half full or a backlog waits on disk. Sources that can wait (simulated sensors)
    /// slow down, so events keep flowing through memory and the broker and the drain get the CPU.
    public var isDraining: Bool { lock.withLock { draining } }
    static let drainPressure = 4_000

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: The loop (forwarder thread only)

    private func runLoop() {
        while true {
            let (incoming, deadline) = lock.withLock { () -> ([OfflineBuffer.Entry], Date?) in
                defer { inbox.removeAll(keepingCapacity: true) }
                return (inbox, stopDeadline)
            }
            if !incoming.isEmpty { inboxTaken.lock(); inboxTaken.broadcast(); inboxTaken.unlock() }
            if lock.withLock({ defer { resubscribe = false }; return resubscribe }), connected { subscribeAll() }
            route(incoming)
            queueCommands(lock.withLock { defer { commandInbox.removeAll() }; return commandInbox })
            commitBuffer(immediately: deadline != nil)  // stopping: commit at once, so the rest can still be sent
            if deadline == nil, !connected, connection == nil, ContinuousClock.now >= nextConnect { startConnecting() }
            if connected { sendCommands() }
            if connected { fillWindow() }
            let pressure = connected && (bufferedCount > Self.drainPressure || memoryCount >= settings.memoryQueueLimit / 2)
            lock.withLock { draining = pressure }
            if let deadline, inflight.isEmpty || Date() >= deadline || !connected {
                shutDown()
                return
            }
            pollOnce(timeoutMs: pollTimeout())
            if teardown { endConnection() }
        }
    }

    private func route(_ entries: [OfflineBuffer.Entry]) {
        for entry in entries {
            if settings.buffer.mode == .always || !connected || bufferedCount > 0 || !pendingWrites.isEmpty
                || memoryCount >= settings.memoryQueueLimit {
                // The memory queue holds older events: they go to the buffer first, keeping seq order.
                if memoryCount > 0 { pendingWrites.append(contentsOf: takeMemoryQueue()) }
                pendingWrites.append(entry)
            } else {
                memoryQueue.append(entry)
            }
        }
    }

    private func queueCommands(_ incoming: [Command]) {
        for command in incoming {
            if let key = command.key {
                asserted[key] = command
                commands.removeAll { $0.key == key }
            }
            commands.append(command)
        }
        if commands.count > Self.commandLimit, let i = commands.firstIndex(where: { $0.key == nil }) {
            commands.remove(at: i)
            commandsDropped += 1
            if commandsDropped == 1 || commandsDropped % 100 == 0 {
                logger.warning("more than \(Self.commandLimit) rule publishes waiting for the broker: dropped the oldest (\(commandsDropped) so far)")
            }
        }
    }

    private func sendCommands() {
        guard let connection else { return }
        while !commands.isEmpty, !teardown {
            let c = commands[0]
            do {
                _ = try connection.publish(topic: c.topic, payload: c.payload, qos: c.qos, retain: c.retain)
                commands.removeFirst()
            } catch {
                logger.warning("publish to \(c.topic) failed: \(error)")
                teardown = true
            }
        }
    }

    /// One group commit: new rows in, acknowledged rows out.
    private func commitBuffer(immediately: Bool = false) {
        guard let buffer, !pendingWrites.isEmpty || !acknowledgedRows.isEmpty else { return }
        if let retry = retryCommitAt, ContinuousClock.now < retry { return }
        // Group commits: up to 50 ms or 2,000 rows per transaction, so a page is written once
        // for many rows. With `mode: always` a connected gateway commits at once (latency).
        let since = pendingSince ?? ContinuousClock.now
        pendingSince = since
        let urgent = immediately || (settings.buffer.mode == .always && connected && !pendingWrites.isEmpty)
            || pendingWrites.count + acknowledgedRows.count >= Self.commitRows || ContinuousClock.now - since >= Self.commitDelay
        guard urgent else { return }
        pendingSince = nil
        let nextSeq = settings.buffer.mode == .always ? pendingWrites.last.map { $0.seq + 1 } : nil
        do {
            let dropped = try buffer.commit(appending: pendingWrites, deleting: acknowledgedRows, nextSeq: nextSeq)
            counters.buffered += pendingWrites.count - dropped
            if dropped > 0 {
                counters.dropped += dropped
                logger.warning("offline buffer full (\(settings.buffer.maxEvents) events / \(settings.buffer.maxBytes) bytes): dropped \(dropped) event(s) (\(settings.buffer.onFull.rawValue)), \(counters.dropped) in all")
            }
            pendingWrites.removeAll(keepingCapacity: true)
            acknowledgedRows.removeAll(keepingCapacity: true)
            retryCommitAt = nil
        } catch {
            counters.diskErrors += 1
            retryCommitAt = ContinuousClock.now.advanced(by: .seconds(1))
            logger.error("cannot write the offline buffer \(settings.bufferPath): \(error)\(error.isDiskFull ? " (disk full; retrying every second, events are kept in memory meanwhile)" : "")")
            // Bound what waits in memory: apply the on_full policy there too.
            let limit = settings.memoryQueueLimit * 10
            if pendingWrites.count > limit {
                let excess = pendingWrites.count - limit
                if settings.buffer.onFull == .dropOldest { pendingWrites.removeFirst(excess) } else { pendingWrites.removeLast(excess) }
                counters.dropped += excess
            }
        }
    }

    private func fillWindow() {
        let window = settings.mqtt.maxInflight
        while inflight.count < window, connected, !teardown {
            if readahead.isEmpty, let buffer, let newest = buffer.newestSeq, newest > bufferCursor {
                // Read ahead in large batches: one SELECT per 2,000 rows, not one per window refill.
                do { readahead = try buffer.read(after: bufferCursor, limit: Self.readaheadLimit) } catch {
                    logger.error("cannot read the offline buffer: \(error)")
                    return
                }
                readaheadIndex = 0
                if readahead.isEmpty { bufferCursor = newest; continue }
            }
            if readaheadIndex < readahead.count {
                let entry = readahead[readaheadIndex]
                readaheadIndex += 1
                if readaheadIndex == readahead.count { readahead.removeAll(keepingCapacity: true); readaheadIndex = 0 }
                bufferCursor = entry.seq
                guard publish(entry, fromBuffer: true) else { return }
            } else if memoryCount > 0, pendingWrites.isEmpty, bufferedCount == 0 {
                guard publish(memoryQueue[memoryHead], fromBuffer: false) else { return }
                memoryHead += 1
                if memoryHead == memoryQueue.count {
                    memoryQueue.removeAll(keepingCapacity: true)
                    memoryHead = 0
                } else if memoryHead >= 1024 {
                    memoryQueue.removeFirst(memoryHead)  // a steady flow never empties it: compact
                    memoryHead = 0
                }
            } else {
                return
            }
        }
    }

    private func publish(_ entry: OfflineBuffer.Entry, fromBuffer: Bool) -> Bool {
        guard let connection else { return false }
        do {
            let mid = try connection.publish(topic: entry.topic, payload: entry.payload, qos: settings.mqtt.qos, retain: false)
            inflight[mid] = (entry, fromBuffer)
            counters.published += 1
            return true
        } catch {
            logger.warning("publish of seq \(entry.seq) failed: \(error)")
            teardown = true
            return false
        }
    }

    private func acknowledged(mid: Int32, reason: Int32) {
        guard let (entry, fromBuffer) = inflight.removeValue(forKey: mid) else { return }
        if reason >= 0x80 {
            counters.refused += 1
            let tries = (refusals[entry.seq] ?? 0) + 1
            refusals[entry.seq] = tries
            if tries >= 3 {
                refusals[entry.seq] = nil
                do {
                    try buffer?.moveToDeadLetter(entry, reason: Int(reason))
                    counters.deadLettered += 1
                    logger.error("the broker refused seq \(entry.seq) on \(entry.topic) \(tries) times (reason 0x\(String(reason, radix: 16))); moved to the dead-letter table")
                } catch {
                    logger.error("cannot move seq \(entry.seq) to the dead-letter table: \(error)")
                }
            } else if fromBuffer {
                bufferCursor = min(bufferCursor, entry.seq - 1)  // resend from there
                readahead.removeAll(keepingCapacity: true)
                readaheadIndex = 0
            } else {
                pendingWrites.append(entry)
            }
            return
        }
        refusals[entry.seq] = nil
        counters.acknowledged += 1
        if fromBuffer { acknowledgedRows.append(entry.seq) }
    }

    // MARK: Connection

    private func startConnecting() {
        failureLogged = false
        var options = MQTTOptions(host: settings.mqtt.host, port: settings.mqtt.port, clientID: settings.mqtt.clientID,
                                  protocolV5: settings.mqtt.protocolVersion == .v5, username: settings.mqtt.username,
                                  password: settings.password, keepaliveSeconds: Int(settings.mqtt.keepalive.components.seconds),
                                  useTLS: settings.mqtt.useTLS, caFile: settings.mqtt.tls?.caFile?.value,
                                  certFile: settings.mqtt.tls?.certFile?.value, keyFile: settings.mqtt.tls?.keyFile?.value,
                                  insecure: settings.mqtt.tls?.insecure ?? false)
        if !settings.inputOnly { options.will = (statusTopic, "offline", true) }
        do {
            let connection = try MQTTConnection(options: options)
            connection.onConnect = { [unowned self] rc in connectionAnswered(rc) }
            connection.onDisconnect = { [unowned self] rc in
                if rc != 0 { explainFailure(rc) }
                teardown = true
            }
            connection.onPublish = { [unowned self] mid, reason in acknowledged(mid: mid, reason: reason) }
            connection.onMessage = { [unowned self] topic, payload in received(topic: topic, payload: payload) }
            self.connection = connection
            try connection.connect()
        } catch {
            logger.warning("cannot reach the broker \(settings.mqtt.host):\(settings.mqtt.port): \(error)")
            failureLogged = true
            teardown = true
        }
    }

    /// One log line per failed connection: lost (it was up) or cannot connect (it never was).
    private func explainFailure(_ rc: Int32) {
        guard !failureLogged else { return }
        failureLogged = true
        let broker = "\(settings.mqtt.host):\(settings.mqtt.port)"
        if connected {
            logger.warning("lost the broker \(broker): \(MQTTConnection.describe(rc))")
        } else {
            logger.warning("cannot connect to \(broker): \(MQTTConnection.describe(rc))")
        }
    }

    private func connectionAnswered(_ rc: Int32) {
        guard rc == 0, let connection else {
            logger.error("the broker refused the connection: \(connection?.describeConnack(rc) ?? "\(rc)")")
            failureLogged = true
            teardown = true
            return
        }
        connected = true
        connectedSince = .now
        counters.connects += 1
        bufferCursor = 0
        readahead.removeAll(keepingCapacity: true)
        readaheadIndex = 0
        logger.notice("connected to \(settings.mqtt.host):\(settings.mqtt.port)\(bufferedCount == 0 ? "" : "; sending \(bufferedCount) buffered event(s) first")")
        if !settings.inputOnly {
            _ = try? connection.publish(topic: statusTopic, payload: Array("online".utf8), qos: 1, retain: true)
        }
        let waiting = Set(commands.compactMap(\.key))
        commands = asserted.filter { !waiting.contains($0.key) }.sorted { $0.key < $1.key }.map(\.value) + commands
        subscribeAll()
    }

    private func subscribeAll() {
        guard let connection else { return }
        for subscription in lock.withLock({ subscriptions }) {
            do { try connection.subscribe(subscription.filter, qos: 1) } catch {
                logger.error("cannot subscribe to \(subscription.filter): \(error)")
            }
        }
    }

    private func received(topic: String, payload: [UInt8]) {
        for subscription in lock.withLock({ subscriptions }) where MQTTConnection.topic(topic, matches: subscription.filter) {
            subscription.deliver(topic, payload)
        }
    }

    /// Drops the handle; whatever it had not got acknowledged goes to the buffer, in seq order.
    private func endConnection() {
        teardown = false
        if loopError != 0 { explainFailure(loopError) }
        loopError = 0
        let uptime = connected ? ContinuousClock.now - connectedSince : .zero
        connected = false
        connection = nil
        let unacknowledged = inflight.values.filter { !$0.fromBuffer }.map(\.entry).sorted { $0.seq < $1.seq }
        inflight.removeAll()
        pendingWrites = unacknowledged + takeMemoryQueue() + pendingWrites
        commitBuffer(immediately: true)
        backoff.connectionEnded(after: uptime)
        let delay = backoff.nextDelay(using: &random)
        nextConnect = ContinuousClock.now.advanced(by: delay)
        logger.info("reconnecting in \(DurationText.format(delay)); \(bufferedCount) event(s) buffered")
    }

    private var bufferedCount: Int { buffer?.eventCount ?? 0 }

    private func pollTimeout() -> Int32 {
        if !pendingWrites.isEmpty || !acknowledgedRows.isEmpty, retryCommitAt == nil {
            let due = (pendingSince ?? .now).advanced(by: Self.commitDelay) - ContinuousClock.now
            return Int32(max(0, min(50, due.milliseconds)))
        }
        if connection == nil { return Int32(max(0, min(1000, (nextConnect - ContinuousClock.now).milliseconds))) }
        return 1000
    }

    private func pollOnce(timeoutMs: Int32) {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let socket = connection?.socket ?? -1
        if socket >= 0 {
            fds.append(pollfd(fd: socket, events: Int16(POLLIN) | (connection!.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
        }
        let n = poll(&fds, nfds_t(fds.count), timeoutMs)
        if n > 0, fds[0].revents & Int16(POLLIN) != 0 {
            var drain = [UInt8](repeating: 0, count: 256)
            while read(wakeRead, &drain, drain.count) > 0 {}
        }
        guard let connection, socket >= 0 else { return }
        func run(_ call: () -> Int32) {
            let rc = call()
            if rc != 0 { loopError = rc; teardown = true }
        }
        if fds.count > 1, fds[1].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 { run(connection.loopRead) }
        if !teardown, connection.wantsWrite { run(connection.loopWrite) }
        if !teardown { run(connection.loopMisc) }
    }

    private func shutDown() {
        // Whatever was not acknowledged is committed, so a restart sends it.
        let unacknowledged = inflight.values.filter { !$0.fromBuffer }.map(\.entry).sorted { $0.seq < $1.seq }
        let late = lock.withLock { () -> [OfflineBuffer.Entry] in defer { inbox.removeAll() }; return inbox }
        pendingWrites = unacknowledged + takeMemoryQueue() + pendingWrites + late
        inflight.removeAll()
        retryCommitAt = nil
        commitBuffer(immediately: true)
        if let connection, connected, !settings.inputOnly {
            queueCommands(lock.withLock { defer { commandInbox.removeAll() }; return commandInbox })
            sendCommands()
            _ = try? connection.publish(topic: statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
            for _ in 0..<20 where connection.wantsWrite { _ = connection.loopWrite(); usleep(5000) }
            connection.disconnect()
            _ = connection.loopWrite()
        }
        connection = nil
        connected = false
        if !settings.inputOnly {
            let c = counters
            logger.notice("forwarder stopped: \(c.acknowledged) acknowledged, \(bufferedCount) left in the buffer (\(c.published) published, \(c.buffered) buffered, \(c.dropped) dropped, \(c.refused) refused, \(c.deadLettered) dead-lettered, \(c.connects) connection(s), \(c.diskErrors) buffer write error(s))")
        }
    }
}
