// `sensorgate asyncapi --config F`: an AsyncAPI 3.0 description of what this gateway, with this
// config, publishes and subscribes to: an event channel per device and type, per alerting rule
// and per thermostat, the status topic, the replay request and answers (with `history:`),
// actuator commands and rule publishes, and the MQTT input devices' topics. Event payloads refer
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
            for device in config.devices { event(device.eventType, subject: device.id, what: "device `\(device.id)`") }
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
