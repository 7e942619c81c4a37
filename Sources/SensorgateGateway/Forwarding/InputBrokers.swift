// Connections to the other brokers that `mqtt` devices name with `broker:` (a zigbee2mqtt broker
// beside the one events go to). Each is an input-only MQTTForwarder: subscriptions, the same
// backoff and error handling, no events, no buffer, no status topic.

import Logging
import SensorgateAdapters
import SensorgateCore

public final class InputBrokers: @unchecked Sendable {
    // Touched only from the gateway's run loop (start, reload, stop).
    private var forwarders: [BrokerURL: MQTTForwarder] = [:]
    private let main: MQTTSettings?
    private let password: String?
    private let gatewayID: String
    private let logger: Logger

    init(main: MQTTSettings?, password: String?, gatewayID: String, logger: Logger) {
        self.main = main
        self.password = password
        self.gatewayID = gatewayID
        self.logger = logger
    }

    /// Connects to each broker the adapters name (once) and sets its subscriptions; brokers no
    /// device names any more are disconnected.
    func subscribe(_ adapters: [MQTTInputAdapter]) {
        let byBroker = Dictionary(grouping: adapters) { $0.broker! }
        for (url, forwarder) in forwarders where byBroker[url] == nil {
            forwarder.stop(grace: .zero)
            forwarders[url] = nil
        }
        for (url, group) in byBroker {
            if forwarders[url] == nil, let forwarder = makeForwarder(url) {
                forwarder.setSubscriptions(group.map { ($0.topic, $0.handler) })
                forwarder.start()
                forwarders[url] = forwarder
            } else {
                forwarders[url]?.setSubscriptions(group.map { ($0.topic, $0.handler) })
            }
        }
    }

    func stopAll() {
        for forwarder in forwarders.values { forwarder.stop(grace: .zero) }
        forwarders.removeAll()
    }

    private func makeForwarder(_ url: BrokerURL) -> MQTTForwarder? {
        guard var mqtt = main else { return nil }
        // Same client identity and credentials as the main connection, on the other broker.
        mqtt.host = url.host
        mqtt.port = url.port
        mqtt.useTLS = url.tls
        do {
            var settings = MQTTForwarder.Settings(mqtt: mqtt, password: password, gatewayID: gatewayID,
                                                  buffer: BufferSettings(), bufferPath: "")
            settings.inputOnly = true
            return try MQTTForwarder(settings: settings, logger: logger)
        } catch {
            logger.error("cannot set up the connection to \(url.host):\(url.port): \(error)")
            return nil
        }
    }
}
