// Home Assistant MQTT discovery for a gateway config: one retained config message per entity,
// on `{discovery_prefix}/{component}/sensorgate_{gateway}/{object}/config`, in the shapes HA
// documents for the mqtt sensor, binary_sensor and climate platforms. Pure: config in,
// messages out; the pipeline publishes them (and removes what a reload dropped).
//
// What HA shows:
//   - one HA device per gateway ("sensorgate pi"), with a Status binary_sensor (connectivity),
//     one problem binary_sensor per rule that raises alerts and per thermostat fail-safe, and a
//     climate entity per thermostat (mode, target, current temperature from its sensor's state
//     topic, heating/cooling/idle from the output; target and mode settable from HA);
//   - one HA device per sensor device, `via_device` the gateway, in the area its `location`
//     names: a sensor per reading channel (device_class, state_class measurement, unit) and a
//     binary_sensor for motion (off_delay) and for a contact (opening).
// Every entity but Status is unavailable while the gateway's status topic says offline.
//
// Entities read the retained plain state topics (GatewayTopics), not the CloudEvents: a
// retained value is there the moment HA (re)subscribes, and needs no template; the event
// topics stay exactly as they are.

public enum HomeAssistantDiscovery {
    public struct Message: Sendable, Equatable {
        public var topic: String
        /// The config as JSON; empty removes the entity.
        public var payload: String
    }

    /// `sensorgate_<gateway id>`: the discovery topics' node id and the prefix of every unique_id.
    public static func nodeID(_ gatewayID: String) -> String { "sensorgate_\(gatewayID)" }

    /// Every config this gateway has (empty without a `homeassistant` section).
    public static func messages(for config: GatewayConfig) -> [Message] {
        guard let ha = config.homeAssistant else { return [] }
        let topics = GatewayTopics(config)
        let node = nodeID(config.gateway.id)
        var out: [Message] = []
        func add(_ component: String, _ object: String, _ payload: [String: JSONValue]) {
            var w = JSONWriter(capacity: 768)
            w.value(.object(payload))
            out.append(Message(topic: "\(ha.discoveryPrefix)/\(component)/\(node)/\(object)/config", payload: w.string))
        }
        let availability: [String: JSONValue] = [
            "availability_topic": .string(topics.status),
            "payload_available": .string("online"),
            "payload_not_available": .string("offline"),
        ]
        let origin: JSONValue = .object(["name": .string("sensorgate")])
        let gatewayDevice: JSONValue = .object([
            "identifiers": .array([.string(node)]),
            "name": .string("sensorgate \(config.gateway.id)"),
            "manufacturer": .string("sensorgate"),
            "model": .string("sensorgate gateway"),
        ])
        func entity(_ fields: [String: JSONValue], device: JSONValue, available: Bool = true) -> [String: JSONValue] {
            var payload = fields
            payload["device"] = device
            payload["origin"] = origin
            if available { payload.merge(availability) { a, _ in a } }
            return payload
        }

        add("binary_sensor", "status", entity([
            "name": .string("Status"),
            "unique_id": .string("\(node)_status"),
            "device_class": .string("connectivity"),
            "entity_category": .string("diagnostic"),
            "state_topic": .string(topics.status),
            "payload_on": .string("online"),
            "payload_off": .string("offline"),
        ], device: gatewayDevice, available: false))

        for device in config.devices {
            var hd: [String: JSONValue] = [
                "identifiers": .array([.string("\(node)_\(device.id)")]),
                "name": .string(device.id),
                "manufacturer": .string("sensorgate"),
                "model": .string(device.profileName ?? device.adapter),
                "via_device": .string(node),
            ]
            if let location = device.location { hd["suggested_area"] = .string(location) }
            let haDevice = JSONValue.object(hd)
            for type in device.eventTypes {
                let object = "\(device.id)_\(type.channelName)"
                var fields: [String: JSONValue] = [
                    "unique_id": .string("\(node)_\(object)"),
                    "state_topic": .string(topics.reading(device.id, type)),
                ]
                switch type {
                case .motionDetected:
                    fields["name"] = .string("Motion")
                    fields["device_class"] = .string("motion")
                    fields["payload_on"] = .string("ON")
                    fields["payload_off"] = .string("OFF")
                    fields["off_delay"] = .number(Double(max(1, ha.motionOffDelay.milliseconds / 1000)))
                    add("binary_sensor", object, entity(fields, device: haDevice))
                case .contactChanged:
                    fields["name"] = .string("Contact")
                    fields["device_class"] = .string("opening")
                    fields["payload_on"] = .string("ON")
                    fields["payload_off"] = .string("OFF")
                    add("binary_sensor", object, entity(fields, device: haDevice))
                case .alertRaised, .alertResolved, .thermostatCommand:
                    continue  // not readings: no device makes them
                case .temperatureReading, .humidityReading, .pressureReading, .batteryLevel:
                    guard let sensor = sensorClass(type) else { continue }
                    fields["name"] = .string(sensor.name)
                    fields["device_class"] = .string(sensor.deviceClass)
                    fields["state_class"] = .string("measurement")
                    fields["unit_of_measurement"] = .string(sensor.unit)
                    fields["suggested_display_precision"] = .number(Double(sensor.precision))
                    if type == .batteryLevel { fields["entity_category"] = .string("diagnostic") }
                    add("sensor", object, entity(fields, device: haDevice))
                }
            }
        }

        for thermostat in config.thermostats {
            let name = thermostat.name
            add("climate", "thermostat_\(name)", entity([
                "name": .string(name),
                "unique_id": .string("\(node)_thermostat_\(name)"),
                "modes": .array([.string("off"), .string("heat"), .string("cool")]),
                "mode_state_topic": .string(topics.state(name, "mode")),
                "mode_command_topic": .string(topics.command(name, .mode)),
                "temperature_state_topic": .string(topics.state(name, "target")),
                "temperature_command_topic": .string(topics.command(name, .target)),
                "current_temperature_topic": .string(topics.reading(thermostat.device, .temperatureReading)),
                "action_topic": .string(topics.state(name, "action")),
                "min_temp": .number(ha.minTemp),
                "max_temp": .number(ha.maxTemp),
                "temp_step": .number(0.5),
                "precision": .number(0.1),
                "temperature_unit": .string("C"),
                "qos": .number(1),
            ], device: gatewayDevice))
        }

        for alert in alertEntities(config) {
            add("binary_sensor", alert.object, entity([
                "name": .string(alert.name),
                "unique_id": .string("\(node)_\(alert.object)"),
                "device_class": .string("problem"),
                "state_topic": .string(topics.alert(alert.rule)),
                "payload_on": .string("ON"),
                "payload_off": .string("OFF"),
            ], device: gatewayDevice))
        }
        return out
    }

    /// A problem binary_sensor: the rule name its AlertRaised events carry, the discovery object
    /// id and the entity's name.
    public struct AlertEntity: Sendable, Equatable {
        public var rule: String
        public var object: String
        public var name: String
    }

    /// Rules with an `alert` action, and each thermostat's fail-safe alerts (`NAME.stale`,
    /// `NAME.max_run`).
    public static func alertEntities(_ config: GatewayConfig) -> [AlertEntity] {
        var out: [AlertEntity] = []
        for rule in config.rules where rule.actions.contains(where: { if case .alert = $0 { return true } else { return false } }) {
            out.append(AlertEntity(rule: rule.name, object: "alert_\(rule.name)", name: "Alert \(rule.name)"))
        }
        for th in config.thermostats {
            out.append(AlertEntity(rule: "\(th.name).stale", object: "thermostat_\(th.name)_stale", name: "\(th.name) sensor silent"))
            if th.maxRun != nil {
                out.append(AlertEntity(rule: "\(th.name).max_run", object: "thermostat_\(th.name)_max_run", name: "\(th.name) max run"))
            }
        }
        return out
    }

    /// HA's sensor device class, unit and a display precision for a numeric reading.
    public static func sensorClass(_ type: EventType) -> (name: String, deviceClass: String, unit: String, precision: Int)? {
        switch type {
        case .temperatureReading: return ("Temperature", "temperature", "°C", 1)
        case .humidityReading: return ("Humidity", "humidity", "%", 0)
        case .pressureReading: return ("Pressure", "atmospheric_pressure", "hPa", 1)
        case .batteryLevel: return ("Battery", "battery", "%", 0)
        case .motionDetected, .contactChanged, .alertRaised, .alertResolved, .thermostatCommand: return nil
        }
    }

    /// The retained state topics a config's entities read (to clear those a reload dropped).
    public static func stateTopics(for config: GatewayConfig) -> [String] {
        let topics = GatewayTopics(config)
        var out: [String] = []
        for device in config.devices {
            for type in device.eventTypes where type != .motionDetected { out.append(topics.reading(device.id, type)) }
        }
        for th in config.thermostats { for channel in ["target", "mode", "action"] { out.append(topics.state(th.name, channel)) } }
        for alert in alertEntities(config) { out.append(topics.alert(alert.rule)) }
        return out
    }

    /// The filter that finds every config this gateway ever published (a leftover of a device
    /// removed while the gateway was stopped is deleted when it arrives).
    public static func configFilter(_ config: GatewayConfig) -> String? {
        guard let ha = config.homeAssistant else { return nil }
        return "\(ha.discoveryPrefix)/+/\(nodeID(config.gateway.id))/+/config"
    }
}
