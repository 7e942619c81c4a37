// One broker connection over time: connecting when the ReconnectPolicy says, polling the socket
// beside its owner's wake-ups, running libmosquitto's read/write/misc, (re)subscribing, handing
// received messages to their handlers, and saying once, in words, why an attempt failed
// (refused, timed out, TLS handshake, certificate, authentication). With several brokers
// (`mqtt.urls`) it fails over between them as BrokerSelection says, with one log line per
// switch, and probes the first one to go back to it. Both the event forwarder and the
// input-only brokers are one of these and a loop of their own:
//
//     while running { doWork(); for event in session.poll(wakeFDs: [...], until: deadline) { ... } }
//
// Lives on its owner's thread: libmosquitto never starts a thread and never reconnects by itself
// (a fresh handle per attempt), and never holds more than the owner hands it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMosquitto
import Logging
import SensorgateCore

public final class MQTTSession {
    public enum Event: Sendable, Equatable {
        case connected
        /// The connection ended or an attempt failed; the reason is already logged.
        case lost(reason: String)
        /// PUBACK for a QoS 1 publish (or the send of a QoS 0 one); `reason` >= 0x80 is a refusal.
        case acknowledged(mid: Int32, reason: Int32)
    }

    public struct Subscription: Sendable {
        public var filter: String
        public var deliver: @Sendable (String, [UInt8]) -> Void
        public init(filter: String, deliver: @escaping @Sendable (String, [UInt8]) -> Void) {
            self.filter = filter
            self.deliver = deliver
        }
    }

    /// Every broker to try, primary first; they differ in host, port and TLS only.
    public private(set) var brokers: [MQTTOptions]
    /// The broker of the current (or next) attempt.
    public var options: MQTTOptions { brokers[selection.current] }
    public var broker: String { Self.name(options) }
    private var selection: BrokerSelection
    public private(set) var isConnected = false
    public private(set) var connects = 0
    /// Connection attempts made so far (the first one tells whether the broker is there).
    public private(set) var attempts = 0
    private var connection: MQTTConnection?
    private var policy = ReconnectPolicy()
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private let logger: Logger
    private var subscriptions: [Subscription] = []
    private var subscribed: Set<String> = []
    private var attemptStarted: Int64? = nil
    /// The TCP connect of the current attempt has completed (writability seen, no error).
    private var socketReady = false
    private var events: [Event] = []
    private var closing = false
    /// Set by libmosquitto's callbacks, acted on once its loop call has returned (the handle
    /// must not be destroyed inside its own callback).
    private var failure: String? = nil
    /// Per broker, the failure last logged and how often it happened since, so a long outage
    /// logs its cause once and then at powers of ten.
    private var lastFailure: [Int: String] = [:]
    private var failureRepeats: [Int: Int] = [:]
    private var downSince: Int64? = nil
    /// A TCP probe of the primary while connected to another broker.
    private var probe: (fd: Int32, deadline: Int64)? = nil
    /// How long an attempt may wait for the TCP connect, TLS handshake and CONNACK.
    public var connectTimeout: Int64 = 10_000

    public convenience init(options: MQTTOptions, logger: Logger) {
        self.init(brokers: [options], logger: logger)
    }

    /// `brokers`: primary first; `preferPrimaryAfter` (ms): how long the primary must have
    /// answered before the session leaves another broker for it.
    public init(brokers: [MQTTOptions], preferPrimaryAfter: Int64 = 300_000, logger: Logger) {
        precondition(!brokers.isEmpty, "a session needs a broker")
        self.brokers = brokers
        selection = BrokerSelection(count: brokers.count, preferPrimaryAfter: preferPrimaryAfter)
        self.logger = logger
    }

    deinit { endProbe() }

    static func name(_ options: MQTTOptions) -> String {
        (options.host.contains(":") ? "[\(options.host)]" : options.host) + ":\(options.port)"
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Owner's controls

    /// Replaces the subscriptions; subscribes what is new and unsubscribes what went, at once
    /// when connected, else on the next connection.
    public func setSubscriptions(_ list: [Subscription]) {
        subscriptions = list
        guard isConnected, let connection else { return }
        let wanted = Set(list.map(\.filter))
        for filter in subscribed.subtracting(wanted) { try? connection.unsubscribe(filter) }
        subscribed.formIntersection(wanted)
        subscribeAll()
    }

    /// New settings (a reload): the connection is dropped and made again with them at once.
    public func reconfigure(_ new: MQTTOptions) { reconfigure([new], preferPrimaryAfter: selection.preferPrimaryAfter) }

    /// New brokers or settings (a reload): the connection is dropped and made again with them at
    /// once, starting with the primary.
    public func reconfigure(_ new: [MQTTOptions], preferPrimaryAfter: Int64) {
        guard !new.isEmpty, new != brokers || preferPrimaryAfter != selection.preferPrimaryAfter else { return }
        if connection != nil { drop(reason: "reconnecting with the new settings", logAs: .notice) }
        endProbe()
        brokers = new
        selection = BrokerSelection(count: new.count, preferPrimaryAfter: preferPrimaryAfter)
        lastFailure.removeAll()
        failureRepeats.removeAll()
        policy.retryNow(at: Self.now())
    }

    /// Publishes one message; returns its mid. A failure ends the connection (`lost` follows).
    public func publish(topic: String, payload: [UInt8], qos: Int, retain: Bool,
                        properties: MQTTProperties = MQTTProperties()) -> Int32? {
        guard isConnected, let connection else { return nil }
        do {
            return try connection.publish(topic: topic, payload: payload, qos: qos, retain: retain, properties: properties)
        } catch {
            drop(reason: "publish to \(topic) failed: \(error)", logAs: .warning)
            return nil
        }
    }

    /// Ends the connection now (a stalled link), with `reason` logged once.
    public func drop(reason: String, logAs level: Logger.Level = .warning) {
        guard connection != nil else { return }
        teardown(reason: reason, level: level)
    }

    /// A clean goodbye: `final` (the retained status, say) is published, written out, then DISCONNECT.
    public func close(final: (topic: String, payload: String)? = nil) {
        closing = true
        endProbe()
        guard let connection else { return }
        self.connection = nil  // its callbacks now change nothing
        if isConnected, let final {
            _ = try? connection.publish(topic: final.topic, payload: Array(final.payload.utf8), qos: 1, retain: true)
            for _ in 0..<20 where connection.wantsWrite {
                _ = connection.loopWrite()
                _ = SocketWait.writable(connection.socket, milliseconds: 5)
            }
        }
        connection.disconnect()
        _ = connection.loopWrite()
        isConnected = false
    }

    // MARK: The loop

    /// One turn: starts a connection attempt when one is due, waits until a wake-up fd is
    /// readable, the socket has something, or `deadline` (ms, monotonic) passes, and runs
    /// libmosquitto. Received messages go to their handlers; returns what else happened.
    public func poll(wakeFDs: [Int32], until deadline: Int64?) -> [Event] {
        var now = Self.now()
        if connection == nil, !closing, now >= policy.nextAttempt { startAttempt(at: now) }
        if isConnected, !closing, probe == nil, selection.probeDue(at: now) { startProbe(at: now) }
        var wait = deadline.map { $0 - now } ?? 1_000
        wait = min(wait, 1_000)  // keepalive PINGs and timeouts are checked at least each second
        if connection == nil, !closing { wait = min(wait, max(0, policy.nextAttempt - now)) }
        if let started = attemptStarted { wait = min(wait, max(0, started + connectTimeout - now)) }

        var fds = wakeFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if let probe { fds.append(pollfd(fd: probe.fd, events: Int16(POLLOUT), revents: 0)) }
        let probeSlot = probe == nil ? nil : fds.count - 1
        let socket = connection?.socket ?? -1
        if let connection, socket >= 0 {
            // Until the TCP connect has completed, also wait for writability: that is when a
            // non-blocking connect completes or fails (ECONNREFUSED), TLS included. Not after:
            // a connected socket is always writable, and polling for it would spin.
            let write = connection.wantsWrite || !socketReady
            fds.append(pollfd(fd: socket, events: Int16(POLLIN) | (write ? Int16(POLLOUT) : 0), revents: 0))
        }
        var n: Int32
        repeat { n = Glibc.poll(&fds, nfds_t(fds.count), Int32(clamping: max(0, wait))) } while n < 0 && errno == EINTR
        now = Self.now()

        if let connection, socket >= 0, let revents = fds.last?.revents, fds.count > wakeFDs.count {
            let code = !isConnected && revents & Int16(POLLERR | POLLHUP | POLLOUT) != 0 ? connection.socketError : 0
            if code == 0, revents & Int16(POLLOUT) != 0 { socketReady = true }
            if code != 0 {
                failure = String(cString: strerror(code)) + (code == ECONNREFUSED ? " (is the broker running on that port?)" : "")
            } else if !isConnected, revents & Int16(POLLHUP) != 0 {
                // Closed before CONNACK with the error already taken by libmosquitto (a TLS
                // connect to a closed port): without this the socket would poll as ready forever.
                failure = connection.lastLoggedError.map { "the connection closed before the broker answered: \($0)" }
                    ?? "the connection was refused or closed before the broker answered (is it running on that port\(options.useTLS ? ", and does it speak TLS" : "")?)"
            } else {
                var rc: Int32 = 0
                if revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 { rc = connection.loopRead() }
                if rc == 0, failure == nil, connection.wantsWrite || revents & Int16(POLLOUT) != 0 { rc = connection.loopWrite() }
                if rc == 0, failure == nil { rc = connection.loopMisc() }
                if rc != 0, failure == nil { failure = describe(rc, connection) }
            }
        } else if connection != nil, socket < 0, !isConnected, failure == nil {
            failure = "the connection could not be set up"
        }
        if let started = attemptStarted, !isConnected, connection != nil, failure == nil, now - started >= connectTimeout {
            failure = socketReady
                ? "the TCP connection was accepted but the broker did not answer the CONNECT within \(DurationText.format(.milliseconds(connectTimeout)))"
                : "no answer within \(DurationText.format(.milliseconds(connectTimeout))) (a firewall, or the wrong port?)"
        }
        if let reason = failure {
            failure = nil
            fail(reason)
        }
        if let slot = probeSlot { probeAnswered(fds[slot].revents, at: now) }
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    // MARK: Probing the primary

    /// A non-blocking TCP connect to the primary: answered when it completes or fails.
    private func startProbe(at now: Int64) {
        let primary = brokers[0]
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(primary.host, String(primary.port), &hints, &list) == 0, let info = list?.pointee else {
            if list != nil { freeaddrinfo(list) }
            probeResult(up: false, at: now)
            return
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return probeResult(up: false, at: now) }
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 {
            Glibc.close(fd)
            return probeResult(up: true, at: now)
        }
        guard errno == EINPROGRESS else {
            Glibc.close(fd)
            return probeResult(up: false, at: now)
        }
        probe = (fd, now + 5_000)
    }

    private func probeAnswered(_ revents: Int16, at now: Int64) {
        guard let (fd, deadline) = probe else { return }
        if revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            let up = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 && code == 0
            endProbe()
            probeResult(up: up, at: now)
        } else if now >= deadline {
            endProbe()
            probeResult(up: false, at: now)
        }
    }

    private func endProbe() {
        if let probe { Glibc.close(probe.fd) }
        probe = nil
    }

    private func probeResult(up: Bool, at now: Int64) {
        guard isConnected, selection.probed(up: up, at: now) else { return }
        let primary = Self.name(brokers[0])
        let answering = DurationText.format(.milliseconds((selection.primaryUp(at: now) ?? 0) / 1000 * 1000))
        logger.notice("the primary broker \(primary) has answered for \(answering): leaving \(broker) for it",
                      metadata: ["broker": "\(broker)"])
        // A clean DISCONNECT: no last will ("offline") is published on the broker we leave.
        if let connection {
            self.connection = nil
            connection.disconnect()
            _ = connection.loopWrite()
        }
        isConnected = false
        attemptStarted = nil
        subscribed.removeAll()
        _ = policy.ended(at: now, using: &random)
        policy.retryNow(at: now)
        selection.returningToPrimary()
        downSince = now
        if !closing { events.append(.lost(reason: "returning to the primary broker \(primary)")) }
    }

    private func startAttempt(at now: Int64) {
        attemptStarted = now
        socketReady = false
        attempts += 1
        if downSince == nil { downSince = now }
        do {
            let connection = try MQTTConnection(options: options)
            connection.onConnect = { [unowned self] rc in connectionAnswered(rc) }
            connection.onDisconnect = { [unowned self, unowned connection] rc in
                guard self.connection === connection, failure == nil else { return }
                failure = rc == 0 ? "the broker closed the connection" : describe(rc, connection)
            }
            connection.onPublish = { [unowned self] mid, reason in
                policy.acknowledged()
                events.append(.acknowledged(mid: mid, reason: reason))
            }
            connection.onMessage = { [unowned self] topic, payload in received(topic: topic, payload: payload) }
            connection.captureErrors(true)
            self.connection = connection
            try connection.connect()
        } catch {
            fail("\(error)")
        }
    }

    private func connectionAnswered(_ rc: Int32) {
        guard let connection, failure == nil else { return }
        guard rc == 0 else {
            failure = "the broker refused the connection: \(connection.describeConnack(rc))"
            return
        }
        isConnected = true
        connects += 1
        attemptStarted = nil
        connection.captureErrors(false)
        let now = Self.now()
        policy.connected(at: now)
        let after = policy.failures > 0 ? " after \(policy.failures) failed attempt(s)" : ""
        let down = downSince.map { now - $0 >= 1_000 ? ", down \(DurationText.format(.milliseconds((now - $0) / 1000 * 1000)))" : "" } ?? ""
        let first = selection.previous == nil
        var switched = ""
        if let from = selection.connectionUp(at: now) {
            switched = " (switched from \(Self.name(brokers[from])), failover \(downSince.map { "\(now - $0) ms" } ?? "at once"))"
        } else if first, selection.current != 0 {
            switched = " (\(brokers[..<selection.current].map(Self.name).joined(separator: ", ")) did not answer)"
        }
        logger.notice("connected to \(broker)\(after)\(down)\(switched)", metadata: ["broker": "\(broker)"])
        lastFailure.removeAll()
        failureRepeats.removeAll()
        downSince = nil
        subscribed.removeAll()
        subscribeAll()
        events.append(.connected)
    }

    private func subscribeAll() {
        guard let connection else { return }
        for subscription in subscriptions where !subscribed.contains(subscription.filter) {
            do {
                try connection.subscribe(subscription.filter, qos: 1)
                subscribed.insert(subscription.filter)
            } catch {
                logger.error("cannot subscribe to \(subscription.filter) on \(broker): \(error)", metadata: ["topic": "\(subscription.filter)"])
            }
        }
    }

    private func received(topic: String, payload: [UInt8]) {
        for subscription in subscriptions where MQTTConnection.topic(topic, matches: subscription.filter) {
            subscription.deliver(topic, payload)
        }
    }

    /// The attempt or the connection ended: log why (once per cause, then at powers of ten),
    /// drop the handle, schedule the next attempt.
    private func fail(_ reason: String) {
        teardown(reason: reason, level: .warning)
    }

    private func teardown(reason: String, level: Logger.Level) {
        let wasConnected = isConnected
        let now = Self.now()
        let name = broker, index = selection.current
        connection = nil
        isConnected = false
        attemptStarted = nil
        subscribed.removeAll()
        endProbe()
        let delay = policy.ended(at: now, using: &random)
        let next = Self.name(brokers[selection.connectionEnded()])
        let retry = next == name ? "retrying in \(DurationText.format(delay))" : "trying \(next) in \(DurationText.format(delay))"
        var line = wasConnected ? "lost the broker \(name): \(reason)" : "cannot connect to \(name): \(reason)"
        if !wasConnected, socketReady, options.protocolV5, !options.useTLS, !reason.contains("refused the connection") {
            // RabbitMQ closes an MQTT 5 CONNECT unanswered; amqtt answers it in 3.1.1's format,
            // which libmosquitto does not take for a CONNACK.
            line += " (a broker that speaks only MQTT 3.1.1 does this to an MQTT 5 CONNECT: try 'protocol: 3.1.1')"
        }
        let repeats = (failureRepeats[index] ?? 0) + 1
        if wasConnected || line != lastFailure[index] {
            lastFailure[index] = wasConnected ? nil : line
            failureRepeats[index] = 1
            logger.log(level: level, "\(line); \(retry)", metadata: ["broker": "\(name)"])
        } else {
            failureRepeats[index] = repeats
            if isPowerOfTen(repeats) {
                logger.log(level: level, "\(line) (\(repeats) attempts so far); \(retry)", metadata: ["broker": "\(name)"])
            } else {
                logger.debug("\(line); \(retry)")
            }
        }
        if wasConnected { downSince = now }
        if !closing { events.append(.lost(reason: reason)) }
    }

    /// A libmosquitto error in words, with what its own log said (OpenSSL's certificate errors).
    private func describe(_ rc: Int32, _ connection: MQTTConnection) -> String {
        var text = MQTTConnection.describe(rc)
        if rc == MOSQ_ERR_TLS.rawValue || rc == MOSQ_ERR_ERRNO.rawValue || rc == MOSQ_ERR_PROTOCOL.rawValue,
           let detail = connection.lastLoggedError {
            text += ": " + detail
        } else if rc == MOSQ_ERR_ERRNO.rawValue {
            text += ": " + String(cString: strerror(errno))
        }
        return text
    }
}

enum SocketWait {
    /// Waits up to `milliseconds` for `fd` to be writable (flushing a goodbye on close).
    static func writable(_ fd: Int32, milliseconds: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return Glibc.poll(&entry, 1, milliseconds) > 0
    }
}
