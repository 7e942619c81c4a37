// Retained state topics and Home Assistant discovery, published from the pipeline's thread
// through the forwarder's command path: every message is a keyed command (the latest per topic
// is kept while the broker is away and asserted again after every reconnect), so a dashboard or
// HA that (re)subscribes finds the last value at once. CloudEvents on the event topics are
// untouched; these are extra, small messages.
//
//   a reading             {prefix}/{gw}/state/{device}/{channel}  21.5 | ON/OFF (contact), retained;
//                         motion: ON, not retained (HA's off_delay turns it off). A numeric
//                         channel's state is published at most once a second, its latest value
//                         (a sensor read 200 times a second would otherwise double the broker's
//                         traffic for a value a dashboard shows); contacts and motion at once.
//   a ThermostatCommand   {prefix}/{gw}/state/{thermostat}/target|mode|action, retained
//   AlertRaised/Resolved  {prefix}/{gw}/state/{rule}/alert  ON/OFF, retained
//   discovery             {discovery_prefix}/.../config, retained; again on HA's birth message;
//                         emptied when a reload drops the entity (and when a config this gateway
//                         published before no longer exists: HA deletes the entity)

import Logging
import SensorgateCore
import SensorgateRuntime

/// Confined to the pipeline's thread.
final class StatePublisher {
    private let commands: BoundedChannel<ForwarderCommand>
    private let logger: Logger
    private var config: GatewayConfig
    private var topics: GatewayTopics
    private var qos: Int
    private var stateTopics: Bool
    private var discovery: [HomeAssistantDiscovery.Message] = []
    private var discoveryTopics: Set<String> = []
    /// (topic, key) per device and reading type: built once, not per reading.
    private var readingTopics: [String: [EventType: (topic: String, key: String)]] = [:]
    private var alertRules: Set<String> = []
    /// Numeric states: when each topic was last published (monotonic ms), and the latest value
    /// waiting for its second to pass.
    static let numericInterval: Int64 = 1000
    private var sentAt: [String: Int64] = [:]
    private var waiting: [String: (key: String, payload: [UInt8])] = [:]
    /// When the next waiting state is due; nil while none waits.
    private(set) var nextFlush: Int64? = nil

    /// Nil without a broker to publish to.
    init?(config: GatewayConfig, commands: BoundedChannel<ForwarderCommand>?, logger: Logger) {
        guard let commands, let mqtt = config.mqtt else { return nil }
        self.commands = commands
        self.logger = logger
        self.config = config
        topics = GatewayTopics(config)
        qos = mqtt.qos
        stateTopics = mqtt.stateTopics
        take(config)
    }

    private func take(_ new: GatewayConfig) {
        config = new
        topics = GatewayTopics(new)
        qos = new.mqtt?.qos ?? 1
        stateTopics = new.mqtt?.stateTopics ?? true
        discovery = HomeAssistantDiscovery.messages(for: new)
        discoveryTopics = Set(discovery.map(\.topic))
        readingTopics = [:]
        for device in new.devices {
            for type in device.eventTypes {
                let topic = topics.reading(device.id, type)
                readingTopics[device.id, default: [:]][type] = (topic, "state:" + topic)
            }
        }
        alertRules = Set(HomeAssistantDiscovery.alertEntities(new).map(\.rule))
    }

    // MARK: Start, reload, HA's birth

    /// At start: the discovery configs, then the state of every thermostat and alert entity
    /// (readings publish theirs as they come).
    func announce(_ rules: RuleEngine) {
        publishDiscovery()
        publishStates(rules)
    }

    /// After a reload: entities and state topics the new config no longer has are removed, the
    /// new configs published.
    func reconfigure(to new: GatewayConfig, rules: RuleEngine) {
        let oldDiscovery = discoveryTopics
        let oldStates = Set(HomeAssistantDiscovery.stateTopics(for: config))
        take(new)
        let current = Set(readingTopics.values.flatMap { $0.values.map(\.topic) })
        waiting = waiting.filter { current.contains($0.key) }
        for topic in oldDiscovery.subtracting(discoveryTopics).sorted() {
            send(topic, [], retain: true, key: "ha:" + topic)
        }
        let removed = oldDiscovery.subtracting(discoveryTopics).count
        if removed > 0 { logger.notice("Home Assistant: removed \(removed) entit\(removed == 1 ? "y" : "ies") the new config no longer has") }
        for topic in oldStates.subtracting(HomeAssistantDiscovery.stateTopics(for: new)).sorted() {
            send(topic, [], retain: true, key: "state:" + topic)
        }
        announce(rules)
    }

    /// HA said `online` on its status topic: it (re)started and wants the configs again.
    func homeAssistantOnline() {
        guard !discovery.isEmpty else { return }
        logger.info("Home Assistant is online: publishing \(discovery.count) discovery config(s) again")
        publishDiscovery()
    }

    /// A retained config under this gateway's node id arrived from the broker: one the config
    /// no longer has (a device removed while the gateway was stopped) is removed from HA.
    func configSeen(topic: String, payloadEmpty: Bool) {
        guard !payloadEmpty, !discoveryTopics.contains(topic) else { return }
        logger.notice("Home Assistant: removing \(topic), an entity this config no longer has")
        send(topic, [], retain: true, key: "ha:" + topic)
    }

    private func publishDiscovery() {
        for message in discovery { send(message.topic, Array(message.payload.utf8), retain: true, key: "ha:" + message.topic) }
    }

    private func publishStates(_ rules: RuleEngine) {
        guard stateTopics else { return }
        for th in rules.thermostatStates { thermostat(th.name, outputOn: th.outputOn, mode: th.mode, target: th.target) }
        let raised = Set(rules.raisedAlerts.map(\.rule))
        for rule in alertRules.sorted() { state(topics.alert(rule), raised.contains(rule) ? "ON" : "OFF") }
    }

    // MARK: Events

    /// An event the pipeline emitted at monotonic `now`: readings, thermostat commands and alerts
    /// update state topics.
    func event(_ event: Event, at now: Int64) {
        guard stateTopics else { return }
        switch event.data {
        case .thermostatCommand(let c):
            thermostat(c.thermostat, outputOn: c.outputOn, mode: c.mode, target: c.target)
        case .alertRaised(let a) where alertRules.contains(a.rule):
            state(topics.alert(a.rule), "ON")
        case .alertResolved(let a) where alertRules.contains(a.rule):
            state(topics.alert(a.rule), "OFF")
        case .motion:
            guard let t = readingTopics[event.subject]?[.motionDetected] else { return }
            // A pulse, not a state: not retained, not asserted again after a reconnect.
            commands.force(ForwarderCommand(topic: t.topic, payload: Array("ON".utf8), retain: false, qos: qos))
        case .alertRaised, .alertResolved:
            return  // an alert of a rule without a state topic (a thermostat's own alerts have theirs above)
        case .temperature, .humidity, .pressure, .contact, .battery:
            guard let value = event.data.readingValue, let t = readingTopics[event.subject]?[value.eventType] else { return }
            let payload = Array(value.stateText.utf8)
            if value.number != nil, let sent = sentAt[t.topic], now - sent < Self.numericInterval {
                waiting[t.topic] = (t.key, payload)
                nextFlush = min(nextFlush ?? sent + Self.numericInterval, sent + Self.numericInterval)
                return
            }
            sentAt[t.topic] = now
            commands.force(ForwarderCommand(topic: t.topic, payload: payload, retain: true, qos: qos, key: t.key))
        }
    }

    /// Publishes the waiting states whose second has passed (all of them at a clean stop: `now` = .max).
    func flush(at now: Int64) {
        guard let due = nextFlush, now >= due else { return }
        nextFlush = nil
        for (topic, state) in waiting {
            let sent = sentAt[topic] ?? 0
            if now == .max || now - sent >= Self.numericInterval {
                waiting[topic] = nil
                sentAt[topic] = now == .max ? sent : now
                commands.force(ForwarderCommand(topic: topic, payload: state.payload, retain: true, qos: qos, key: state.key))
            } else {
                nextFlush = min(nextFlush ?? sent + Self.numericInterval, sent + Self.numericInterval)
            }
        }
    }

    /// One thermostat's state again (after a command from HA, changed or not).
    func thermostat(_ name: String, in rules: RuleEngine) {
        guard stateTopics, let th = rules.thermostatStates.first(where: { $0.name == name }) else { return }
        thermostat(name, outputOn: th.outputOn, mode: th.mode, target: th.target)
    }

    private func thermostat(_ name: String, outputOn: Bool, mode: ThermostatMode, target: Double) {
        state(topics.state(name, "target"), JSONWriter.number(roundedCelsius(target)))
        state(topics.state(name, "mode"), mode.rawValue)
        state(topics.state(name, "action"), thermostatAction(outputOn: outputOn, mode: mode))
    }

    private func state(_ topic: String, _ text: String) {
        send(topic, Array(text.utf8), retain: true, key: "state:" + topic)
    }

    private func send(_ topic: String, _ payload: [UInt8], retain: Bool, key: String) {
        commands.force(ForwarderCommand(topic: topic, payload: payload, retain: retain, qos: qos, key: key))
    }
}
