import Foundation
import SensorgateGateway
import Testing

/// The gateway against a real mosquitto: forwarding, outages, kill -9, `mode: always`, buffer limits.
@Suite(.serialized) struct MQTTForwardingTests {
    static func config(_ dir: TemporaryDirectory, port: Int, buffer: String = "", interval: String = "10ms") throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(port)", max_inflight: 20 }
            \(buffer)
            devices:
              - { id: living, adapter: simulated, kind: temperature, interval: \(interval), location: living room }
            """)
    }

    /// First arrival of each seq, in arrival order.
    static func firstArrivals(_ seqs: [UInt64]) -> [UInt64] {
        var seen = Set<UInt64>()
        return seqs.filter { seen.insert($0).inserted }
    }

    @Test func eventsArriveWithSpecTopicsAndPayloadsInSeqOrder() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, port: broker.port).path, "--log-level", "debug"])
        #expect(await subscriber.waitFor { $0.seqs.count >= 30 })
        // The retained status: `online`, and with MQTT 5 the running version as a user property.
        let (statusCode, status) = try await runSensorgate(
            ["-p", String(broker.port), "-V", "mqttv5", "-t", "sensorgate/test-gw/status", "-C", "1", "-W", "10", "-F", "%p %P"],
            executable: URL(fileURLWithPath: "/usr/bin/mosquitto_sub"))
        #expect(statusCode == 0 && status == "online version:\(SensorgateVersion.current)\n", "\(status)")
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let printed = gateway.seqs
        #expect(await subscriber.waitFor(timeout: 10) { Set($0.seqs) == Set(printed) })
        let events = subscriber.events
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
        let first = try #require(events.first)
        #expect(first.topic == "sensorgate/test-gw/TemperatureReading/living")
        #expect(first.json["specversion"] as? String == "1.0")
        #expect(first.json["source"] as? String == "sensorgate/test-gw")
        #expect(first.json["subject"] as? String == "living")
        #expect((first.json["data"] as? [String: Any])?["location"] as? String == "living room")
        #expect(subscriber.lines.contains("sensorgate/test-gw/status offline"))
    }

    @Test func brokerOutageLosesNothingAndDrainsInOrder() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await subscriber.waitFor { $0.seqs.count >= 20 })
        broker.stop()
        let beforeOutage = gateway.seqs.last ?? 0
        #expect(await gateway.waitFor { _ in (gateway.seqs.last ?? 0) > beforeOutage + 100 })  // events keep coming
        try broker.start()
        #expect(await gateway.waitFor { $0.contains("sending") && $0.contains("buffered event(s) first") })
        let target = (gateway.seqs.last ?? 0) + 20
        #expect(await subscriber.waitFor { ($0.seqs.max() ?? 0) >= target })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let printed = gateway.seqs
        #expect(await subscriber.waitFor(timeout: 10) { Set($0.seqs).isSuperset(of: printed) })
        let arrivals = Self.firstArrivals(subscriber.seqs)
        #expect(arrivals == arrivals.sorted())  // buffered ones first, then newer
        #expect(Set(arrivals) == Set(1...UInt64(printed.count)))
        let (status, stats) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        #expect(status == 0)
        #expect(stats.contains("\"events\": 0"))
    }

    @Test func eventsBufferedBeforeAKill9AreDeliveredAfterRestart() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        broker.stop()
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port)
        let first = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await first.waitFor { _ in first.seqs.count >= 100 })
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        let (_, statsText) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        let stats = try JSONSerialization.jsonObject(with: Data(statsText.split(separator: "\n").last!.utf8)) as! [String: Any]
        let oldest = (stats["oldest_seq"] as! NSNumber).uint64Value, newest = (stats["newest_seq"] as! NSNumber).uint64Value
        #expect(oldest == 1)
        #expect(newest >= 90)  // at most the last group commit is lost to kill -9
        try broker.start()
        let second = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { Set($0.seqs).isSuperset(of: oldest...newest) })
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        #expect(Self.firstArrivals(subscriber.seqs).prefix(Int(newest)) == ArraySlice(1...newest))
    }

    @Test func modeAlwaysLeavesNoGapAcrossRepeatedKill9() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port, buffer: "buffer: { mode: always }")
        for round in 0..<4 {
            let gateway = try GatewayProcess(["run", "--config", config.path])
            let target = (subscriber.seqs.max() ?? 0) + 30
            #expect(await subscriber.waitFor { ($0.seqs.max() ?? 0) >= target })
            await pause(Double(round) * 0.037)
            gateway.signal(SIGKILL)
            _ = await gateway.waitForExit()
        }
        let last = try GatewayProcess(["run", "--config", config.path])
        let target = (subscriber.seqs.max() ?? 0) + 10
        #expect(await subscriber.waitFor { ($0.seqs.max() ?? 0) >= target })
        last.signal(SIGTERM)
        #expect(await last.waitForExit() == 0)
        let received = Set(subscriber.seqs)
        let maxSeq = received.max() ?? 0
        #expect(received == Set(1...maxSeq))  // every seq from 1 up, no gap (duplicates allowed)
    }

    @Test(arguments: [("drop_oldest", true), ("drop_newest", false)])
    func fullBufferFollowsOnFullAndCountsDrops(policy: String, keepsNewest: Bool) async throws {
        let port = try Broker.freePort()  // nothing listens: the broker is unreachable throughout
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: port, buffer: "buffer: { max_events: 50, on_full: \(policy) }", interval: "5ms")
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { _ in gateway.seqs.count >= 200 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let emitted = UInt64(gateway.seqs.count)
        let (_, statsText) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        let stats = try JSONSerialization.jsonObject(with: Data(statsText.split(separator: "\n").last!.utf8)) as! [String: Any]
        #expect((stats["events"] as! NSNumber).intValue == 50)
        #expect((stats["dropped"] as! NSNumber).uint64Value == emitted - 50)
        let oldest = (stats["oldest_seq"] as! NSNumber).uint64Value, newest = (stats["newest_seq"] as! NSNumber).uint64Value
        if keepsNewest {
            #expect(newest == emitted && oldest == emitted - 49)
        } else {
            #expect(oldest == 1 && newest == 50)
        }
        #expect(gateway.output.contains("offline buffer full"))
    }
}

/// MQTT input devices and broker refusals, against a real mosquitto.
@Suite(.serialized) struct MQTTInputAndRefusalTests {
    func publish(_ port: Int, _ topic: String, _ message: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        p.arguments = ["-p", String(port), "-t", topic, "-m", message, "-q", "1"]
        try p.run()
        p.waitUntilExit()
    }

    @Test func inputDeviceTurnsPayloadsIntoEventsAndCountsRejects() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.path)/Devices }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            devices:
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage, max_payload: 200B }
              - { id: hall, profile: zigbee2mqtt-occupancy, topic: zigbee2mqtt/hall }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.contains("connected to") })
        await pause(0.2)
        try publish(broker.port, "zigbee2mqtt/garage", #"{"battery":100,"humidity":56.07,"linkquality":65,"temperature":21.86,"voltage":3005}"#)
        try publish(broker.port, "zigbee2mqtt/garage", "OFFLINE")
        try publish(broker.port, "zigbee2mqtt/garage", #"{"temperature":21.5,"padding":"\#(String(repeating: "x", count: 300))"}"#)
        try publish(broker.port, "zigbee2mqtt/garage", #"{"temperature":140}"#)
        try publish(broker.port, "zigbee2mqtt/hall", #"{"occupancy":false}"#)
        try publish(broker.port, "zigbee2mqtt/hall", #"{"occupancy":true}"#)
        #expect(await subscriber.waitFor { $0.events.count >= 4 })
        #expect(await gateway.waitFor { $0.contains("outOfRange") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let events = subscriber.events
        // The zigbee2mqtt payload yields each field it carries (issue 13); occupancy false is no event and no failure.
        #expect(events.map(\.topic) == ["sensorgate/test-gw/TemperatureReading/garage", "sensorgate/test-gw/HumidityReading/garage",
                                        "sensorgate/test-gw/BatteryLevel/garage", "sensorgate/test-gw/MotionDetected/hall"])
        #expect((events.first?.json["data"] as? [String: Any])?["celsius"] as? Double == 21.86)
        let output = gateway.output
        #expect(output.contains("garage: malformed: zigbee2mqtt/garage: not JSON"))
        #expect(output.contains("garage: oversized: zigbee2mqtt/garage: payload of 3"))
        #expect(output.contains("garage: outOfRange: zigbee2mqtt/garage: 140 °C is outside the valid range"))
        #expect(output.contains("3 failed read(s)"))
    }

    @Test func anEventTheBrokerRefusesIsDeadLetteredAndDoesNotBlockTheRest() async throws {
        let broker = try Broker(acl: """
            topic write sensorgate/test-gw/TemperatureReading/good
            topic write sensorgate/test-gw/status
            topic read sensorgate/#
            """)
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)", protocol: 5 }
            devices:
              - { id: good, adapter: simulated, kind: temperature, interval: 20ms }
              - { id: poison, adapter: simulated, kind: temperature, interval: 200ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.contains("moved to the dead-letter table") })
        #expect(await subscriber.waitFor { $0.events.count >= 30 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(gateway.output.contains("reason 0x87"))
        #expect(subscriber.events.allSatisfy { $0.topic.hasSuffix("/good") })
        let (_, stats) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        #expect(!stats.contains("\"dead_letter\": 0"))
    }
}

extension MQTTInputAndRefusalTests {
    @Test func duplicateClientIDsBackOffInsteadOfFighting() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let gateways = try (0..<2).map { i -> (GatewayProcess, TemporaryDirectory) in
            let dir = try TemporaryDirectory()
            let config = try dir.write("gateway.yaml", """
                gateway: { id: twin, state_dir: ./state }
                mqtt: { url: "mqtt://127.0.0.1:\(broker.port)", client_id: same-id }
                devices:
                  - { id: t\(i), adapter: simulated, kind: temperature, interval: 50ms }
                """)
            return (try GatewayProcess(["run", "--config", config.path]), dir)
        }
        await pause(6)
        for (gateway, _) in gateways {
            gateway.signal(SIGTERM)
            #expect(await gateway.waitForExit() == 0)
            let connects = gateway.output.components(separatedBy: "notice connected to").count - 1
            // Kicked each time the twin connects; with jittered exponential backoff (0.5 s, 1 s, 2 s, …)
            // that is a handful of connections in 6 s, not hundreds.
            #expect(connects >= 1 && connects <= 8, "\(connects) connections")
        }
    }
}

extension MQTTInputAndRefusalTests {
    @Test func tlsWithTheRightCAConnectsAndAWrongCAIsAClearError() async throws {
        let certificates = try TestCertificates()
        let otherCA = try TestCertificates()
        let broker = try Broker(tls: certificates)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, certificates, otherCA, dir)) {} }
        func run(ca: String) throws -> GatewayProcess {
            let config = try dir.write("gateway.yaml", """
                gateway: { id: tls-gw, state_dir: ./state-\(ca.hashValue) }
                mqtt:
                  url: "mqtts://127.0.0.1:\(broker.port)"
                  tls: { ca_file: \(ca) }
                devices:
                  - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
                """)
            return try GatewayProcess(["run", "--config", config.path])
        }
        let good = try run(ca: certificates.caFile)
        #expect(await good.waitFor { $0.contains("forwarder stopped") || $0.contains("notice connected to 127.0.0.1") })
        good.signal(SIGTERM)
        #expect(await good.waitForExit() == 0)
        #expect(good.output.contains("acknowledged, 0 left in the buffer"))

        let bad = try run(ca: otherCA.caFile)
        #expect(await bad.waitFor(timeout: 10) { $0.contains("cannot connect to") || $0.contains("cannot reach the broker") })
        bad.signal(SIGTERM)
        #expect(await bad.waitForExit() == 0)
        #expect(!bad.output.contains("notice connected to"))
        #expect(bad.output.contains("check ca_file"))
    }
}

extension MQTTInputAndRefusalTests {
    /// mqtts:// with no broker says so at once (it used to be silent for 30 s, then "Unknown
    /// error."), and a broker that appears is connected within one backoff step.
    @Test func tlsWithoutABrokerFailsAtOnceAndConnectsWhenItAppears() async throws {
        let certificates = try TestCertificates()
        let port = try Broker.freePort()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((certificates, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: tls-late, state_dir: ./state }
            mqtt:
              url: "mqtts://127.0.0.1:\(port)"
              tls: { ca_file: \(certificates.caFile) }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
            """)
        let started = Date()
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor(timeout: 10) { $0.contains("cannot connect to 127.0.0.1:\(port)") })
        #expect(Date().timeIntervalSince(started) < 5, "the first failure took \(Date().timeIntervalSince(started)) s to be reported")
        #expect(!gateway.output.contains("Unknown error"))
        await pause(2)
        let brokerUp = Date()
        let broker = try Broker(tls: certificates, port: port)
        defer { withExtendedLifetime(broker) {} }
        #expect(await gateway.waitFor(timeout: 20) { $0.contains("notice connected to 127.0.0.1:\(port)") })
        // The attempts before were 0.5, 1, 2 s apart: the next one (at most 4 s) must succeed.
        #expect(Date().timeIntervalSince(brokerUp) < 6, "connected \(Date().timeIntervalSince(brokerUp)) s after the broker came up")
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(gateway.output.contains("0 left in the buffer"))
    }

    @Test func mqtt311WithUsernameAndPasswordFromAFile() async throws {
        let broker = try Broker(users: ["gateway": "s3cret-pw"])
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let passwordFile = try dir.write("mqtt-password", "s3cret-pw\n")
        chmod(passwordFile.path, 0o600)
        func config(_ credentials: String) throws -> URL {
            try dir.write("gateway.yaml", """
                gateway: { id: auth-gw, state_dir: ./state }
                mqtt:
                  url: "mqtt://127.0.0.1:\(broker.port)"
                  protocol: 3.1.1
                  username: gateway
                  \(credentials)
                devices:
                  - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
                """)
        }
        let good = try GatewayProcess(["run", "--config", try config("password_file: mqtt-password").path, "--log-level", "debug"])
        #expect(await good.waitFor { $0.contains("notice connected to 127.0.0.1") })
        #expect(await good.waitFor { $0.contains("#3") })
        good.signal(SIGTERM)
        #expect(await good.waitForExit() == 0)
        #expect(good.output.contains("0 left in the buffer"))

        let bad = try GatewayProcess(["run", "--config", try config("password: wrong").path, "--log-level", "debug"])
        #expect(await bad.waitFor(timeout: 10) { $0.contains("the broker refused the connection") })
        #expect(await bad.waitFor { _ in bad.seqs.count >= 2 })
        bad.signal(SIGTERM)
        #expect(await bad.waitForExit() == 0)
        #expect(bad.output.contains("not authorised") || bad.output.contains("not authorized"))
        #expect(bad.output.contains("left in the buffer"))
        #expect(!bad.output.contains("0 left in the buffer"))  // events kept for later
    }
}

extension MQTTInputAndRefusalTests {
    @Test func anInputDeviceOnAnotherBroker() async throws {
        let events = try Broker()
        let zigbee = try Broker()
        let subscriber = try Subscriber(port: events.port)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((events, zigbee, subscriber, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.path)/Devices }
            mqtt: { url: "mqtt://127.0.0.1:\(events.port)" }
            devices:
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage, broker: "mqtt://127.0.0.1:\(zigbee.port)" }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.components(separatedBy: "notice connected to").count == 3 })
        await pause(0.2)
        try publish(zigbee.port, "zigbee2mqtt/garage", #"{"temperature":4.5}"#)
        try publish(events.port, "zigbee2mqtt/garage", #"{"temperature":99.5}"#)  // the wrong broker: ignored
        #expect(await subscriber.waitFor { !$0.events.isEmpty })
        await pause(0.3)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(subscriber.events.map(\.topic) == ["sensorgate/test-gw/TemperatureReading/garage"])
        #expect((subscriber.events.first?.json["data"] as? [String: Any])?["celsius"] as? Double == 4.5)
    }
}
