import Foundation
import Testing

/// `mqtt.urls`: the gateway fails over to the next broker when its broker goes, sends again
/// what the lost one did not acknowledge (same id and seq), and goes back to the first.
@Suite(.serialized) struct BrokerFailoverTests {
    /// Every event a consumer saw: first arrivals in seq order, no gap up to `through`, and a seq
    /// seen twice always with one id. Returns how many arrivals were redeliveries.
    static func checkDelivery(_ subscriber: Subscriber, through last: UInt64) -> Int {
        let events = subscriber.events
        let arrivals = MQTTForwardingTests.firstArrivals(events.map(\.seq))
        #expect(arrivals == arrivals.sorted(), "first arrivals out of seq order")
        #expect(Set(arrivals) == Set(1...last), "missing: \(Set(1...last).subtracting(arrivals).sorted().prefix(20))")
        var ids: [UInt64: Set<String>] = [:]
        for event in events { ids[event.seq, default: []].insert(event.json["id"] as? String ?? "") }
        let conflicting = ids.filter { $0.value.count > 1 }.keys.sorted()
        #expect(conflicting.isEmpty, "seqs repeated with another id: \(conflicting.prefix(20))")
        return events.count - arrivals.count
    }

    /// Two mosquittos bridged by nothing: the consumer subscribes on both (a cluster would carry
    /// messages across; here it simply listens to each).
    @Test func failsOverToTheSecondMosquittoAndReturnsToTheFirst() async throws {
        let first = try Broker(), second = try Broker()
        let onFirst = try Subscriber(port: first.port), onSecond = try Subscriber(port: second.port)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((first, second, onFirst, onSecond, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: fo-gw, state_dir: ./state }
            mqtt:
              urls: ["mqtt://127.0.0.1:\(first.port)", "mqtt://127.0.0.1:\(second.port)"]
              prefer_primary_after: 2s
              max_inflight: 20
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 10ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await onFirst.waitFor { $0.seqs.count >= 50 })
        first.stop()
        #expect(await gateway.waitFor { $0.contains("notice connected to 127.0.0.1:\(second.port) (switched from 127.0.0.1:\(first.port)") },
                "\(gateway.output)")
        #expect(await onSecond.waitFor { $0.seqs.count >= 50 })
        try first.start()
        // Back to the first once it has answered probes for 2 s (probed every second).
        #expect(await gateway.waitFor(timeout: 20) { $0.contains("has answered for") },  "\(gateway.output)")
        #expect(await gateway.waitFor { $0.contains("notice connected to 127.0.0.1:\(first.port) (switched from 127.0.0.1:\(second.port)") })
        let back = onFirst.seqs.count
        #expect(await onFirst.waitFor { $0.seqs.count >= back + 30 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let printed = UInt64(gateway.seqs.count)
        // Together the two brokers saw every seq; the first broker's consumer session kept what
        // arrived there while it was down (nothing: it was down), so merge both.
        let all = onFirst.events + onSecond.events
        let arrivals = Set(all.map(\.seq))
        #expect(arrivals == Set(1...printed), "missing: \(Set(1...printed).subtracting(arrivals).sorted().prefix(20))")
        // Leaving the second was a clean DISCONNECT: no last will there.
        #expect(onSecond.lines.last { $0.contains("/status ") } == "sensorgate/fo-gw/status online")
        #expect(gateway.output.components(separatedBy: "switched from").count - 1 == 2)
    }

    /// Issue 16's test: a gateway with both nodes of a RabbitMQ cluster as its brokers and a
    /// persistent QoS 1 consumer on node 2; node 1 (the gateway's broker) is killed while events
    /// flow. Every seq reaches the consumer, in order; redeliveries are counted.
    @Test(.enabled(if: OtherBrokers.enabled, "needs rabbitmq-server: make test-cluster"))
    func rabbitMQClusterNodeKilledWhileEventsFlow() async throws {
        await ClusterTurn.shared.acquire()
        let started = Date()
        let cluster: RabbitMQCluster
        do { cluster = try await RabbitMQCluster.start() } catch {
            await ClusterTurn.shared.release()
            throw error
        }
        let clusterUp = Date()
        do {
            try await killNodeA(cluster, started: started, clusterUp: clusterUp)
        } catch {
            await cluster.stop()
            await ClusterTurn.shared.release()
            throw error
        }
        await cluster.stop()
        await ClusterTurn.shared.release()
    }

    func killNodeA(_ cluster: RabbitMQCluster, started: Date, clusterUp: Date) async throws {
        let (nodeA, nodeB) = (cluster.mqttPorts[0], cluster.mqttPorts[1])
        let consumer = try Subscriber(port: nodeB, extra: ["-V", "mqttv311"], timed: true)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((cluster, consumer, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: cluster-gw, state_dir: ./state }
            mqtt:
              urls: ["mqtt://127.0.0.1:\(nodeA)", "mqtt://127.0.0.1:\(nodeB)"]
              protocol: 3.1.1
              max_inflight: 50
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 5ms }
            """)
        #expect(await consumer.waitUntilSubscribed(port: nodeB, client: ["-V", "mqttv311"]))
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        do {
            #expect(await gateway.waitFor(timeout: 30) { $0.contains("notice connected to 127.0.0.1:\(nodeA)") }, "\(gateway.output)")
            #expect(await consumer.waitFor { $0.seqs.count >= 300 })
            let killedAt = Date().timeIntervalSince1970
            cluster.kill9(node: 1)
            #expect(await gateway.waitFor { $0.contains("notice connected to 127.0.0.1:\(nodeB) (switched from 127.0.0.1:\(nodeA)") },
                    "\(gateway.output)")
            let atSwitch = gateway.seqs.last ?? 0
            #expect(await consumer.waitFor { ($0.seqs.max() ?? 0) >= atSwitch + 300 })
            gateway.signal(SIGTERM)
            #expect(await gateway.waitForExit() == 0)
            let printed = UInt64(gateway.seqs.count)
            #expect(await consumer.waitFor { Set($0.seqs).isSuperset(of: 1...printed) })
            let redelivered = Self.checkDelivery(consumer, through: printed)

            // Failover time at the consumer: the longest silence between two arrivals from 1 s
            // before the kill to 10 s after it (events flow every 5 ms otherwise).
            let times = consumer.arrivals.filter { $0.line.contains("/TemperatureReading/") }.map(\.time)
                .filter { $0 >= killedAt - 1 && $0 <= killedAt + 10 }
            var gap = 0.0, gapEnd = 0.0
            for (a, b) in zip(times, times.dropFirst()) where b - a > gap { (gap, gapEnd) = (b - a, b) }
            let logged = gateway.output.split(separator: "\n").first { $0.contains("switched from") }.map(String.init) ?? ""
            print("""
                cluster failover: \(printed) events, \(redelivered) redelivered; consumer silent for \(Int(gap * 1000)) ms \
                (ending \(Int((gapEnd - killedAt) * 1000)) ms after the kill); gateway: \(logged); \
                cluster start \(Int(clusterUp.timeIntervalSince(started))) s, test \(Int(Date().timeIntervalSince(started))) s
                """)
            #expect(gap < 10, "the consumer heard nothing for \(gap) s")
            #expect(gateway.output.contains("lost the broker 127.0.0.1:\(nodeA)"))
        }
        if gateway.process.isRunning { gateway.signal(SIGKILL); _ = await gateway.waitForExit() }
    }
}
