// `sensorgate asyncapi --config F`: an AsyncAPI 3.0 description of what this gateway, with this
// config, publishes and subscribes to: an event channel per device and reading channel (a BME280
// has three), per alerting rule and per thermostat, the status topic, the retained state topics,
// Home Assistant's discovery configs, birth message and climate commands (with `homeassistant:`),
// the replay request and answers (with `history:`), actuator commands and rule publishes, and the
// MQTT input devices' topics. Event payloads refer
// to the event schemas (JSON Schema draft 2020-12, carried as multi-format schemas). Pure:
// config in, document out.

public enum AsyncAPIDocument {
    static let schemaFormat = "application/schema+json;version=draft-2020-12"

    /// `version`: the API's version (the event contract's, EventSchema.contractVersion).
    public static func make(_ config: GatewayConfig, version: String = EventSchema.contractVersion) -> JSONDocument {
        var builder = Builder(config: config)
        builder.build()
        var info: [(String, JSONDocument)] = [
            ("title", .string("sensorgate \(config.gateway.id)")),
            ("version", .string(version)),
            ("description", .string("What the sensorgate gateway `\(config.gateway.id)` publishes and subscribes to with its config. Events are CloudEvents 1.0 in structured JSON mode; each carries `dataschema`, the URI of its JSON Schema (`sensorgate schema TYPE`).")),
        ]
        info.append(("x-sensorgate-source", .string(config.gateway.eventSource)))
        return .object([
            ("asyncapi", .string("3.0.0")),
            ("info", .object(info)),
            ("defaultContentType", .string("application/json")),
            ("servers", .object(builder.servers)),
            ("channels", .object(builder.channels)),
            ("operations", .object(builder.operations)),
            ("components", .object([
                ("schemas", .object(builder.schemas)),
                ("messages", .object(builder.messages)),
            ])),
        ])
    }

    private struct Builder {
        let config: GatewayConfig
        var servers: [(String, JSONDocument)] = []
        var channels: [(String, JSONDocument)] = []
        var operations: [(String, JSONDocument)] = []
        var schemas: [(String, JSONDocument)] = []
        var messages: [(String, JSONDocument)] = []
        var usedTypes: [EventType] = []
        var channelIDs: Set<String> = []

        init(config: GatewayConfig) { self.config = config }

        var base: String { "\(config.mqtt?.topicPrefix ?? "sensorgate")/\(config.gateway.id)" }
        var qos: Int { config.mqtt?.qos ?? 1 }

        mutating func build() {
            let mainServer = "broker"
            if let mqtt = config.mqtt {
                var bindings: [(String, JSONDocument)] = [
                    ("clientId", .string(mqtt.clientID)), ("cleanSession", .bool(true)),
                    ("lastWill", .object([("topic", .string("\(base)/status")), ("qos", .number(1)), ("message", .string("offline")), ("retain", .bool(true))])),
                    ("keepAlive", .number(Double(mqtt.keepalive.components.seconds))),
                ]
                bindings.append(("bindingVersion", .string("0.2.0")))
                servers.append((mainServer, .object([
                    ("host", .string("\(mqtt.host):\(mqtt.port)")),
                    ("protocol", .string(mqtt.useTLS ? "secure-mqtt" : "mqtt")),
                    ("protocolVersion", .string(mqtt.protocolVersion.rawValue)),
                    ("description", .string("The broker the gateway publishes to (`mqtt.url`); replay requests are taken from it too.")),
                    ("bindings", .object([("mqtt", .object(bindings))])),
                ])))
            }
            var otherBrokers: [BrokerURL] = []
            for device in config.devices {
                if let broker = device.settings.subscription?.broker, !otherBrokers.contains(broker) { otherBrokers.append(broker) }
            }
            for (i, broker) in otherBrokers.enumerated() {
                servers.append(("input-broker-\(i + 1)", .object([
                    ("host", .string("\(broker.host):\(broker.port)")),
                    ("protocol", .string(broker.tls ? "secure-mqtt" : "mqtt")),
                    ("description", .string("A broker MQTT input devices subscribe on (`broker:` of a device).")),
                ])))
            }

            // Events, per device, rule and thermostat.
            for device in config.devices {
                for type in device.eventTypes { event(type, subject: device.id, what: "device `\(device.id)`") }
            }
            for rule in config.rules where rule.actions.contains(where: { if case .alert = $0 { return true } else { return false } }) {
                event(.alertRaised, subject: rule.name, what: "rule `\(rule.name)`")
                event(.alertResolved, subject: rule.name, what: "rule `\(rule.name)`")
            }
            for thermostat in config.thermostats {
                event(.thermostatCommand, subject: thermostat.name, what: "thermostat `\(thermostat.name)`")
                event(.alertRaised, subject: thermostat.name, what: "thermostat `\(thermostat.name)` (its sensor went silent, or it ran too long)")
                event(.alertResolved, subject: thermostat.name, what: "thermostat `\(thermostat.name)`")
            }

            // Status.
            messages.append(("status", .object([
                ("name", .string("status")), ("title", .string("Gateway status")), ("contentType", .string("text/plain")),
                ("payload", .object([("type", .string("string")), ("enum", .strings(["online", "offline"]))])),
            ])))
            channel("status", address: "\(base)/status", messages: ["status"],
                    description: "Retained: `online` once connected, `offline` on a clean stop or, as the last will, when the gateway vanishes.")
            operation("sendStatus", action: "send", channel: "status", messages: ["status"], retain: true, qos: 1)

            if config.mqtt != nil, config.mqtt?.stateTopics != false { states() }
            if config.mqtt != nil, config.homeAssistant != nil { homeAssistant() }

            if config.history != nil { replay() }

            // Actuators and rule publishes.
            for thermostat in config.thermostats {
                guard case .mqtt(let topic, let on, let off) = thermostat.actuator else { continue }
                let name = "actuator-\(thermostat.name)"
                messages.append((name, .object([
                    ("name", .string(name)), ("title", .string("Relay command of thermostat \(thermostat.name)")),
                    ("payload", .object([("type", .string("string")), ("enum", .strings(Array(Set([on, off])).sorted()))])),
                ])))
                channel(name, address: topic, messages: [name],
                        description: "The thermostat's relay: `payload_on` or `payload_off`, sent again after every reconnect.")
                operation("send-\(name)", action: "send", channel: name, messages: [name], retain: false, qos: 1)
            }
            for rule in config.rules {
                for (i, action) in rule.actions.enumerated() {
                    guard case .publish(let topic, let payload, let retain, let qos) = action else { continue }
                    let name = "publish-\(rule.name)-\(i + 1)"
                    messages.append((name, .object([
                        ("name", .string(name)), ("title", .string("Published by rule \(rule.name)")),
                        ("payload", .object([("type", .string("string")), ("const", .string(payload))])),
                    ])))
                    channel(name, address: topic, messages: [name], description: "Rule `\(rule.name)` publishes this when its condition becomes true.")
                    operation("send-\(name)", action: "send", channel: name, messages: [name], retain: retain, qos: qos)
                }
            }

            // MQTT input devices.
            for device in config.devices {
                guard let subscription = device.settings.subscription else { continue }
                let name = "input-\(device.id)"
                messages.append((name, .object([
                    ("name", .string(name)), ("title", .string("Readings for device \(device.id)")),
                    ("payload", .object([("description", .string("Decoded by the device's profile (\(device.profileName ?? device.adapter)); other payloads are counted and skipped."))])),
                ])))
                var servers: [String] = [mainServer]
                if let broker = subscription.broker, let i = otherBrokers.firstIndex(of: broker) { servers = ["input-broker-\(i + 1)"] }
                channel(name, address: subscription.filter, messages: [name], description: "MQTT input device `\(device.id)` subscribes here.",
                        servers: servers)
                operation("receive-\(name)", action: "receive", channel: name, messages: [name], retain: nil, qos: 1)
            }

            for type in usedTypes {
                let schema = EventSchema.current(for: type)
                schemas.append((type.rawValue, .object([("schemaFormat", .string(AsyncAPIDocument.schemaFormat)), ("schema", schema.document)])))
                messages.append((type.rawValue, .object([
                    ("name", .string(type.rawValue)), ("title", .string(type.rawValue)), ("summary", .string(schema.description)),
                    ("contentType", .string("application/json")),
                    ("payload", .object([("$ref", .string("#/components/schemas/\(type.rawValue)"))])),
                ])))
            }
        }

        /// The channel of one event type and subject, and the gateway's operation sending it.
        mutating func event(_ type: EventType, subject: String, what: String) {
            if !usedTypes.contains(type) { usedTypes.append(type) }
            let name = "\(type.rawValue)-\(subject)"
            guard !channelIDs.contains(name) else { return }
            channel(name, address: "\(base)/\(type.rawValue)/\(subject)", messages: [type.rawValue], description: "\(type.rawValue) events of \(what).")
            operation("send-\(name)", action: "send", channel: name, messages: [type.rawValue], retain: false, qos: qos)
        }

        /// The retained plain state topics (`{prefix}/{gw}/state/{subject}/{channel}`): a reading
        /// channel's last value, a thermostat's target, mode and action, a rule's alert.
        mutating func states() {
            let topics = GatewayTopics(config)
            var used: Set<String> = []
            func message(_ name: String, _ title: String, _ payload: [(String, JSONDocument)]) {
                guard !used.contains(name) else { return }
                used.insert(name)
                messages.append((name, .object([
                    ("name", .string(name)), ("title", .string(title)), ("contentType", .string("text/plain")),
                    ("payload", .object([("type", .string("string"))] + payload)),
                ])))
            }
            func state(_ subject: String, _ channel: String, _ messageName: String, retain: Bool, description: String) {
                let name = "state-\(subject)-\(channel)"
                guard !channelIDs.contains(name) else { return }
                self.channel(name, address: topics.state(subject, channel), messages: [messageName], description: description)
                operation("send-\(name)", action: "send", channel: name, messages: [messageName], retain: retain, qos: qos)
            }
            for device in config.devices {
                for type in device.eventTypes {
                    switch type {
                    case .motionDetected:
                        message("stateMotion", "Motion pulse", [("const", .string("ON"))])
                        state(device.id, type.channelName, "stateMotion", retain: false,
                              description: "`ON` at each motion of device `\(device.id)`: a pulse, not retained.")
                    case .contactChanged:
                        message("stateOnOff", "ON or OFF", [("enum", .strings(["ON", "OFF"]))])
                        state(device.id, type.channelName, "stateOnOff", retain: true,
                              description: "Retained: the contact of device `\(device.id)`, `ON` when open, `OFF` when closed.")
                    case .temperatureReading, .humidityReading, .pressureReading, .batteryLevel:
                        message("stateNumber", "A bare number", [("description", .string("The value as a JSON number in the reading's unit (°C, %RH, hPa, %), rounded as events round it."))])
                        state(device.id, type.channelName, "stateNumber", retain: true,
                              description: "Retained: the last \(type.rawValue) of device `\(device.id)` (after its filters), at most once a second.")
                    case .alertRaised, .alertResolved, .thermostatCommand:
                        continue  // not readings: no device makes them
                    }
                }
            }
            for th in config.thermostats {
                message("stateNumber", "A bare number", [("description", .string("The value as a JSON number in the reading's unit (°C, %RH, hPa, %), rounded as events round it."))])
                message("stateMode", "Thermostat mode", [("enum", .strings(ThermostatMode.allCases.map(\.rawValue)))])
                message("stateAction", "Thermostat action", [("enum", .strings(["heating", "cooling", "idle", "off"]))])
                state(th.name, "target", "stateNumber", retain: true, description: "Retained: the target (°C) of thermostat `\(th.name)`.")
                state(th.name, "mode", "stateMode", retain: true, description: "Retained: the mode of thermostat `\(th.name)`.")
                state(th.name, "action", "stateAction", retain: true, description: "Retained: what thermostat `\(th.name)`'s output is doing.")
            }
            for alert in HomeAssistantDiscovery.alertEntities(config) {
                message("stateOnOff", "ON or OFF", [("enum", .strings(["ON", "OFF"]))])
                state(alert.rule, "alert", "stateOnOff", retain: true, description: "Retained: `ON` while the alert of `\(alert.rule)` is raised.")
            }
        }

        /// MQTT discovery configs (retained), Home Assistant's birth message, and the climate
        /// entities' commands.
        mutating func homeAssistant() {
            guard let ha = config.homeAssistant else { return }
            let node = HomeAssistantDiscovery.nodeID(config.gateway.id)
            var components: [String] = [], objects: [String] = []
            for message in HomeAssistantDiscovery.messages(for: config) {
                let parts = message.topic.split(separator: "/").map(String.init)
                guard parts.count >= 4 else { continue }
                let component = parts[parts.count - 4], object = parts[parts.count - 2]
                if !components.contains(component) { components.append(component) }
                if !objects.contains(object) { objects.append(object) }
            }
            messages.append(("homeAssistantConfig", .object([
                ("name", .string("homeAssistantConfig")), ("title", .string("Home Assistant discovery config")), ("contentType", .string("application/json")),
                ("payload", .object([("type", .string("object")),
                                     ("description", .string("An entity's config in the shape Home Assistant's MQTT sensor, binary_sensor and climate platforms document; an empty retained message removes the entity."))])),
            ])))
            channel("homeAssistantConfig", address: "\(ha.discoveryPrefix)/{component}/\(node)/{object}/config", messages: ["homeAssistantConfig"],
                    description: "Retained, published at start, after a reload and whenever Home Assistant says `online`; a config this gateway no longer has is cleared.",
                    parameters: [("component", .object([("enum", .strings(components))])), ("object", .object([("enum", .strings(objects))]))])
            operation("sendHomeAssistantConfig", action: "send", channel: "homeAssistantConfig", messages: ["homeAssistantConfig"], retain: true, qos: qos)

            messages.append(("homeAssistantStatus", .object([
                ("name", .string("homeAssistantStatus")), ("title", .string("Home Assistant's birth message")), ("contentType", .string("text/plain")),
                ("payload", .object([("type", .string("string")), ("enum", .strings(["online", "offline"]))])),
            ])))
            channel("homeAssistantStatus", address: ha.statusTopic, messages: ["homeAssistantStatus"],
                    description: "`online`: Home Assistant (re)started; the gateway publishes its discovery configs again.")
            operation("receiveHomeAssistantStatus", action: "receive", channel: "homeAssistantStatus", messages: ["homeAssistantStatus"], retain: nil, qos: 1)

            guard !config.thermostats.isEmpty else { return }
            messages.append(("thermostatSetting", .object([
                ("name", .string("thermostatSetting")), ("title", .string("A target or mode from Home Assistant")), ("contentType", .string("text/plain")),
                ("payload", .object([("type", .string("string")),
                                     ("description", .string("`target`: degrees Celsius within the climate entity's min_temp and max_temp; `mode`: heat, cool or off. Applied as a hold, with a ThermostatCommand event; anything else is counted as malformed and ignored."))])),
            ])))
            channel("thermostatCommand", address: "\(base)/command/{thermostat}/{setting}", messages: ["thermostatSetting"],
                    description: "Home Assistant's climate entities set a thermostat's target or mode here.",
                    parameters: [("thermostat", .object([("enum", .strings(config.thermostats.map(\.name)))])),
                                 ("setting", .object([("enum", .strings(ThermostatSetting.allCases.map(\.rawValue)))]))])
            operation("receiveThermostatCommand", action: "receive", channel: "thermostatCommand", messages: ["thermostatSetting"], retain: nil, qos: 1)
        }

        mutating func replay() {
            for type in EventType.allCases where !usedTypes.contains(type) { usedTypes.append(type) }
            schemas.append(("ReplayRequest", .object([("schemaFormat", .string(AsyncAPIDocument.schemaFormat)), ("schema", ReplaySchemas.request)])))
            schemas.append(("ReplayDone", .object([("schemaFormat", .string(AsyncAPIDocument.schemaFormat)), ("schema", ReplaySchemas.done)])))
            messages.append(("replayRequest", .object([
                ("name", .string("replayRequest")), ("title", .string("Replay request")), ("contentType", .string("application/json")),
                ("payload", .object([("$ref", .string("#/components/schemas/ReplayRequest"))])),
            ])))
            messages.append(("replayDone", .object([
                ("name", .string("replayDone")), ("title", .string("Replay done")), ("contentType", .string("application/json")),
                ("payload", .object([("$ref", .string("#/components/schemas/ReplayDone"))])),
            ])))
            let id: (String, JSONDocument) = ("id", .object([("description", .string("The request's `id`.")), ("location", .string("$message.payload#/id"))]))
            channel("replayRequest", address: ReplayTopics.request(base: base), messages: ["replayRequest"],
                    description: "Consumers ask for kept events here; the broker's ACL decides who may publish to it.")
            channel("replayEvents", address: "\(base)/replay/{id}/{type}/{subject}", messages: EventType.allCases.map(\.rawValue),
                    description: "The events asked for, in seq order: byte for byte as first published plus the extension `replay` (the request's id); rate-limited by `history.replay_rate`.",
                    parameters: [("id", .object([("description", .string("The request's `id`."))])),
                                 ("type", .object([("enum", .strings(EventType.allCases.map(\.rawValue)))])),
                                 ("subject", .object([("description", .string("The device id, or the rule or thermostat name."))]))])
            channel("replayDone", address: "\(base)/replay/{id}/done", messages: ["replayDone"],
                    description: "The last message of a replay: counts, the first and last seq sent, what was pruned, or why the request was refused.",
                    parameters: [id])
            operations.append(("receiveReplayRequest", .object([
                ("action", .string("receive")),
                ("channel", .object([("$ref", .string("#/channels/replayRequest"))])),
                ("summary", .string("Replay kept events on request.")),
                ("messages", .array([.object([("$ref", .string("#/channels/replayRequest/messages/replayRequest"))])])),
                ("reply", .object([
                    ("address", .object([("location", .string("$message.payload#/id")),
                                         ("description", .string("The answer goes to {prefix}/{gateway}/replay/{id}/... with the request's id."))])),
                    ("channel", .object([("$ref", .string("#/channels/replayDone"))])),
                    ("messages", .array([.object([("$ref", .string("#/channels/replayDone/messages/replayDone"))])])),
                ])),
                ("bindings", .object([("mqtt", .object([("qos", .number(1)), ("bindingVersion", .string("0.2.0"))]))])),
            ])))
            operation("sendReplayEvents", action: "send", channel: "replayEvents", messages: EventType.allCases.map(\.rawValue), retain: false, qos: qos)
            operation("sendReplayDone", action: "send", channel: "replayDone", messages: ["replayDone"], retain: false, qos: 1)
        }

        mutating func channel(_ name: String, address: String, messages names: [String], description: String,
                              parameters: [(String, JSONDocument)] = [], servers: [String] = []) {
            channelIDs.insert(name)
            var members: [(String, JSONDocument)] = [
                ("address", .string(address)),
                ("description", .string(description)),
                ("messages", .object(names.map { ($0, .object([("$ref", .string("#/components/messages/\($0)"))])) })),
            ]
            if !parameters.isEmpty { members.append(("parameters", .object(parameters))) }
            if !servers.isEmpty {
                members.append(("servers", .array(servers.map { .object([("$ref", .string("#/servers/\($0)"))]) })))
            }
            channels.append((name, .object(members)))
        }

        mutating func operation(_ name: String, action: String, channel: String, messages names: [String], retain: Bool?, qos: Int) {
            var binding: [(String, JSONDocument)] = [("qos", .number(Double(qos)))]
            if let retain { binding.append(("retain", .bool(retain))) }
            binding.append(("bindingVersion", .string("0.2.0")))
            operations.append((name, .object([
                ("action", .string(action)),
                ("channel", .object([("$ref", .string("#/channels/\(channel)"))])),
                ("messages", .array(names.map { .object([("$ref", .string("#/channels/\(channel)/messages/\($0)"))]) })),
                ("bindings", .object([("mqtt", .object(binding))])),
            ])))
        }
    }
}
