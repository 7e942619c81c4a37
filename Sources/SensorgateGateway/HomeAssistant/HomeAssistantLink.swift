// What the gateway hears from Home Assistant, on the forwarder's MQTT connection: HA's birth
// message (`homeassistant/status` = online: publish the discovery configs again), targets and
// modes its climate entities publish on the command topics, and the retained discovery configs
// this gateway published before (to delete the ones the config no longer has). Each arrives on
// the MQTT session's thread and is handed to the pipeline's control channel without waiting;
// HA sends a few a minute at most, and one that does not fit is logged, not queued without bound.

import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime

public enum HomeAssistantMessage: Sendable, Equatable {
    /// HA (re)started and subscribed to discovery.
    case online
    /// A target or mode for a thermostat, as HA sent it.
    case command(thermostat: String, setting: ThermostatSetting, payload: String)
    /// A retained config under this gateway's node id (empty: already deleted).
    case configSeen(topic: String, empty: Bool)
}

public enum HomeAssistantLink {
    /// The subscriptions a config with a `homeassistant` section needs on the forwarder's broker.
    public static func subscriptions(for config: GatewayConfig, control: BoundedChannel<PipelineControl>,
                                     logger: Logger) -> [MQTTSession.Subscription] {
        guard let ha = config.homeAssistant, let filter = HomeAssistantDiscovery.configFilter(config) else { return [] }
        let topics = GatewayTopics(config)
        // The configs this config publishes come back here too: only others are news.
        let current = Set(HomeAssistantDiscovery.messages(for: config).map(\.topic))
        @Sendable func hand(_ message: HomeAssistantMessage) {
            if !control.trySend(.homeAssistant(message)) {
                logger.warning("Home Assistant: a message arrived while the pipeline was busy and was dropped: \(message)")
            }
        }
        return [
            MQTTSession.Subscription(filter: ha.statusTopic) { _, payload in
                if String(decoding: payload, as: UTF8.self) == "online" { hand(.online) }
            },
            MQTTSession.Subscription(filter: topics.commandFilter) { topic, payload in
                guard let (thermostat, setting) = topics.parseCommand(topic) else { return }
                hand(.command(thermostat: thermostat, setting: setting, payload: String(decoding: payload.prefix(64), as: UTF8.self)))
            },
            MQTTSession.Subscription(filter: filter) { topic, payload in
                if !payload.isEmpty, !current.contains(topic) { hand(.configSeen(topic: topic, empty: false)) }
            },
        ]
    }
}
