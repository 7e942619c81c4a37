import Foundation
import Testing

/// The interop matrix: the same gateway against mosquitto (MQTT 5 and 3.1.1), RabbitMQ's MQTT
/// plugin (3.1.1) and amqtt (3.1.1): forwarding in seq order, the retained status, MQTT input,
/// QoS 1 redelivery after the fault proxy drops the connection, and the last will after a kill -9.
/// mosquitto runs under `make test`; RabbitMQ and amqtt need installing and run under
/// `make test-cluster`.
@Suite(.serialized) struct BrokerInteropTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case mosquitto5, mosquitto311, rabbitMQ, amqtt
        var testDescription: String { rawValue }
        var protocolVersion: String { self == .mosquitto5 ? "5" : "3.1.1" }
        var clientVersion: String { self == .mosquitto5 ? "mqttv5" : "mqttv311" }
        /// amqtt keeps a persistent session only for a client with a username.
        var username: [String] { self == .amqtt ? ["-u", "interop"] : [] }
        /// RabbitMQ checks any username it is given against its own users (anonymous clients
        /// become `mqtt.default_user`); amqtt and mosquitto here take any name.
        var gatewayCredentials: String {
            self == .rabbitMQ ? "username: guest\n  password: guest" : "username: gateway"
        }
    }

    /// A running broker of `kind`: its port, and what keeps it alive.
    struct Running {
        var port: Int
        var keep: Any
        var stop: () async -> Void
    }

    static func start(_ kind: Kind) async throws -> Running {
        switch kind {
        case .mosquitto5, .mosquitto311:
            let broker = try Broker()
            return Running(port: broker.port, keep: broker, stop: {})
        case .rabbitMQ:
            await ClusterTurn.shared.acquire()
            do {
                let cluster = try await RabbitMQCluster.start()
                return Running(port: cluster.mqttPorts[1], keep: cluster, stop: {
                    await cluster.stop()
                    await ClusterTurn.shared.release()
                })
            } catch {
                await ClusterTurn.shared.release()
                throw error
            }
        case .amqtt:
            let broker = try AMQTTBroker()
            return Running(port: broker.port, keep: broker, stop: {})
        }
    }

    static func publish(_ kind: Kind, port: Int, _ topic: String, _ message: String) async throws {
        let (status, output) = try await runCommand("/usr/bin/mosquitto_pub",
            ["-p", String(port), "-V", kind.clientVersion, "-t", topic, "-m", message, "-q", "1"] + kind.username)
        #expect(status == 0, "mosquitto_pub: \(output)")
    }

    /// The retained messages a new subscriber to `topic` gets at once (payloads, that topic only:
    /// amqtt also sends other clients' retained messages on connect).
    static func retained(_ kind: Kind, port: Int, _ topic: String) async throws -> [String] {
        let (_, output) = try await runCommand("/usr/bin/mosquitto_sub",
            ["-p", String(port), "-V", kind.clientVersion, "-t", topic, "-v", "-W", "2", "--retained-only"] + kind.username)
        return output.split(separator: "\n").compactMap { line in
            line.hasPrefix(topic + " ") ? String(line.dropFirst(topic.count + 1)) : nil
        }
    }

    static let enabledKinds: [Kind] = OtherBrokers.enabled ? Kind.allCases : [.mosquitto5, .mosquitto311]

    @Test(arguments: enabledKinds)
    func forwardingStatusInputRedeliveryAndWill(_ kind: Kind) async throws {
        let broker = try await Self.start(kind)
        do {
            try await exercise(kind, broker)
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }

    func exercise(_ kind: Kind, _ broker: Running) async throws {
        let subscriber = try Subscriber(port: broker.port, extra: ["-V", kind.clientVersion] + kind.username)
        let proxy = try FaultProxy(to: broker.port)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker.keep, subscriber, proxy, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: interop, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.path)/Devices }
            mqtt:
              url: "mqtt://127.0.0.1:\(proxy.port)"
              protocol: \(kind.protocolVersion)
              \(kind.gatewayCredentials)
              max_inflight: 20
            devices:
              - { id: living, adapter: simulated, kind: temperature, interval: 20ms }
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage }
            """)
        #expect(await subscriber.waitUntilSubscribed(port: broker.port, client: ["-V", kind.clientVersion] + kind.username))
        let gateway = try GatewayProcess(["run", "--config", config.path])
        do {
            #expect(await gateway.waitFor(timeout: 30) { $0.contains("notice connected to") }, "\(gateway.output)")
            #expect(await subscriber.waitFor { $0.seqs.count >= 30 })

            // The retained status, to a subscriber that comes later.
            #expect(try await Self.retained(kind, port: broker.port, "sensorgate/interop/status") .contains("online"))

            // MQTT input: the gateway's subscription on the same connection.
            try await Self.publish(kind, port: broker.port, "zigbee2mqtt/garage", #"{"temperature":4.5,"linkquality":60}"#)
            #expect(await subscriber.waitFor { $0.events.contains { $0.topic == "sensorgate/interop/TemperatureReading/garage" } })
            let garage = subscriber.events.first { $0.topic.hasSuffix("/garage") }
            #expect((garage?.json["data"] as? [String: Any])?["celsius"] as? Double == 4.5)

            // The link drops (an RST) while events flow: what was not acknowledged is sent again.
            let before = subscriber.seqs.max() ?? 0
            await proxy.set("drop")
            await proxy.set("pass")
            #expect(await gateway.waitFor { $0.contains("lost the broker") })
            #expect(await subscriber.waitFor { ($0.seqs.max() ?? 0) >= before + 50 })
            #expect(gateway.output.components(separatedBy: "notice connected to").count >= 3)

            // The last will: the gateway vanishes without a DISCONNECT.
            gateway.signal(SIGKILL)
            _ = await gateway.waitForExit()
            #expect(await subscriber.waitFor { $0.lines.last { $0.hasPrefix("sensorgate/interop/status ") } == "sensorgate/interop/status offline" },
                    "\(subscriber.lines.filter { $0.contains("/status") })")
        }
        if gateway.process.isRunning { gateway.signal(SIGKILL); _ = await gateway.waitForExit() }

        // Every seq the consumer saw, first arrivals in order and without a gap; a seq seen twice
        // (redelivered) has the same id both times.
        let events = subscriber.events.filter { $0.topic.hasSuffix("/living") || $0.topic.hasSuffix("/garage") }
        let arrivals = MQTTForwardingTests.firstArrivals(events.map(\.seq))
        #expect(arrivals == arrivals.sorted())
        #expect(Set(arrivals) == Set(1...(arrivals.max() ?? 1)))
        var ids: [UInt64: Set<String>] = [:]
        for event in events { ids[event.seq, default: []].insert(event.json["id"] as? String ?? "") }
        #expect(ids.values.allSatisfy { $0.count == 1 })
        print("interop \(kind.rawValue): \(arrivals.count) events, \(events.count - arrivals.count) redelivered")
    }
}
