// Connections to the other brokers that `mqtt` devices name with `broker:` (a zigbee2mqtt broker
// beside the one events go to). Each is an MQTTSession on a thread of its own with the
// subscriptions only: the same connection, backoff and error handling as the forwarder's, no
// events, no buffer, no status topic.

import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime
import ServiceLifecycle
import Synchronization

enum InputBrokerControl: Sendable {
    case subscriptions([MQTTSession.Subscription])
    case reconfigure(MQTTOptions)
    case stop
}

/// Confined to its thread.
final class InputBroker {
    private let session: MQTTSession
    private let control: BoundedChannel<InputBrokerControl>

    init(options: MQTTOptions, control: BoundedChannel<InputBrokerControl>, logger: Logger) {
        session = MQTTSession(options: options, logger: logger)
        self.control = control
    }

    func run() {
        while true {
            control.readable.reset()
            for message in control.take() {
                switch message {
                case .subscriptions(let list): session.setSubscriptions(list)
                case .reconfigure(let options): session.reconfigure(options)
                case .stop:
                    session.close()
                    return
                }
            }
            _ = session.poll(wakeFDs: [control.readable.fd], until: nil)
        }
    }
}

/// The set of input brokers, updated at start and on reload; stopped with the gateway.
public final class InputBrokersService: Service, Sendable {
    private struct Running: Sendable {
        var control: BoundedChannel<InputBrokerControl>
        var thread: Task<Void, Never>
    }

    private let brokers = Mutex<[BrokerURL: Running]>([:])
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Connects to each broker named (once) and sets its subscriptions; brokers no device names
    /// any more are disconnected. `main` supplies client id and credentials.
    func update(main: MQTTSettings?, password: String?, subscriptions: [BrokerURL: [MQTTSession.Subscription]]) {
        let logger = self.logger
        brokers.withLock { running in
            // A broker no device names any more is disconnected; its thread ends by itself.
            for (url, broker) in running where subscriptions[url] == nil {
                broker.control.force(.stop)
                running[url] = nil
            }
            guard let main else { return }
            for (url, list) in subscriptions {
                var settings = main
                settings.host = url.host
                settings.port = url.port
                settings.useTLS = url.tls
                let options = settings.sessionOptions(password: password)
                if let broker = running[url] {
                    broker.control.force(.reconfigure(options))
                    broker.control.force(.subscriptions(list))
                    continue
                }
                let control = BoundedChannel<InputBrokerControl>(capacity: 16)
                control.force(.subscriptions(list))
                let thread = Task {
                    do {
                        try await OwnedThread.run(name: "mqtt-in") { InputBroker(options: options, control: control, logger: logger).run() }
                    } catch {
                        logger.error("cannot start the connection to \(url.host):\(url.port): \(error)")
                    }
                }
                running[url] = Running(control: control, thread: thread)
            }
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let threads = brokers.withLock { running -> [Task<Void, Never>] in
            defer { running.removeAll() }
            for broker in running.values { broker.control.force(.stop) }
            return running.values.map(\.thread)
        }
        for thread in threads { await thread.value }
    }
}
