import Foundation
import SensorgateGateway
import Testing

/// Looking into a running gateway (the real binary, a real mosquitto): /metrics checked by
/// promtool and moving with events, failures, an outage and alerts; /healthz through an outage
/// and its drain; /status against what the broker received; the token.
@Suite(.serialized) struct ObservabilityTests {
    /// A gateway whose sensors fail, move and trip rules within a second.
    static func config(_ dir: TemporaryDirectory, broker: Int, http: Int, extraHTTP: String = "uplink_down_after: 1s") throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: obs, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(broker)", max_inflight: 20 }
            http: { listen: "127.0.0.1:\(http)", \(extraHTTP) }
            devices:
              - { id: living, adapter: simulated, kind: temperature, interval: 50ms, start: 20, step: 0.3, seed: 1, location: living room }
              - { id: flaky, adapter: simulated, kind: temperature, interval: 50ms, seed: 2, fail_rate: 0.5 }
              - { id: hall, adapter: simulated, kind: motion, rate: 5, seed: 3 }
            rules:
              - name: quiet-hall
                when: { no_motion: { device: hall, for: 300ms } }
                then:
                  - alert: { severity: info, message: "no motion in the hall" }
              - name: flaky-seen
                when: { temperature: { device: flaky, above: -100 } }
                then:
                  - alert: { severity: warning, message: "{device} at {celsius} °C" }
            thermostats:
              - name: heater
                device: living
                target: 20
                min_on: 0s
                min_off: 0s
                actuator: { mqtt: { topic: obs/heater/set } }
            """)
    }

    /// Scrapes until `predicate` holds (the pipeline and the forwarder publish a few times a second).
    static func scrape(_ port: Int, timeout: Double = 20, until predicate: (PrometheusSamples) -> Bool) async throws -> PrometheusSamples {
        let deadline = Date().addingTimeInterval(timeout)
        var samples = PrometheusSamples("")
        while Date() < deadline {
            samples = PrometheusSamples(try await HTTPGet.get(port: port, "/metrics").body)
            if predicate(samples) { return samples }
            await pause(0.2)
        }
        return samples
    }

    /// `promtool check metrics` (Debian's prometheus package) on a scrape: format and naming
    /// lint (units, `_total`, help texts). Skipped, with the parser below still checking the
    /// values, where promtool is not installed.
    static func promtool(_ text: String) throws -> (status: Int32, output: String)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            // Under CI make test has installed it: missing there is a failure, not a skip.
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("promtool is missing (Debian's prometheus package)") }
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        p.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func metricsPassPromtoolAndMoveWithEventsFailuresAlertsAndAnOutage() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, broker: broker.port, http: http).path])
        #expect(await gateway.waitFor { $0.contains("serving /metrics") })

        let first = try await Self.scrape(http) {
            $0.sum("sensorgate_events_total", "type=\"TemperatureReading\"") >= 20 && $0.sum("sensorgate_alerts_raised_total") >= 1
                && $0.sum("sensorgate_acknowledged_events_total") >= 20
        }
        let raw = try await HTTPGet.get(port: http, "/metrics")
        #expect(raw.status == 200)
        #expect(raw.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        if let (status, output) = try Self.promtool(raw.body) {
            #expect(status == 0, "promtool check metrics: \(output)")
        }
        #expect(first.types["sensorgate_events_total"] == "counter")
        #expect(first.types["sensorgate_publish_ack_latency_seconds"] == "histogram")
        #expect(first["sensorgate_uplink_up"] == 1)
        #expect(first["sensorgate_uplink_connects_total"] == 1)
        #expect(first.sum("sensorgate_readings_total", "device=\"living\"") >= 10)
        #expect(first.sum("sensorgate_read_failures_total", "device=\"flaky\"", "reason=\"readError\"") >= 1)
        #expect(first.sum("sensorgate_rule_evaluations_total", "rule=\"quiet-hall\"") >= 1)
        #expect(first.sum("sensorgate_alerts_raised_total", "rule=\"flaky-seen\"") == 1)
        #expect(first["sensorgate_thermostat_target_celsius{thermostat=\"heater\"}"] == 20)
        #expect(first.sum("sensorgate_publish_ack_latency_seconds_count") >= 20)
        #expect(first["sensorgate_build_info{swift=\"6.3\",version=\"\(SensorgateVersion.current)\"}"] == 1 || first.sum("sensorgate_build_info") == 1)
        #expect((first["sensorgate_process_start_time_seconds"] ?? 0) > 1_700_000_000)
        // Never a reading's value as a label: every label is one of these.
        let labels = Set(first.values.keys.flatMap { key -> [String] in
            guard let open = key.firstIndex(of: "{") else { return [] }
            return key[key.index(after: open)...].dropLast().split(separator: ",").map { String($0.prefix { $0 != "=" }) }
        })
        #expect(labels.isSubset(of: ["type", "device", "reason", "rule", "thermostat", "le", "code", "version", "swift"]), "\(labels)")

        // Counters move with events and alerts.
        let moved = try await Self.scrape(http) {
            $0.sum("sensorgate_events_total") > first.sum("sensorgate_events_total") + 20
                && $0.sum("sensorgate_alerts_resolved_total", "rule=\"quiet-hall\"") >= 1
        }
        #expect(moved.sum("sensorgate_alerts_resolved_total", "rule=\"quiet-hall\"") >= 1)
        #expect(moved.sum("sensorgate_read_failures_total") > first.sum("sensorgate_read_failures_total"))

        // An outage: the link goes down, events go to buffer.db.
        broker.stop()
        let outage = try await Self.scrape(http) {
            $0["sensorgate_uplink_up"] == 0 && ($0["sensorgate_buffer_events"] ?? 0) >= 20 && ($0["sensorgate_buffer_oldest_event_age_seconds"] ?? 0) >= 1
        }
        #expect(outage["sensorgate_uplink_up"] == 0)
        #expect(outage["sensorgate_uplink_disconnects_total"] == 1)
        #expect((outage["sensorgate_buffer_events"] ?? 0) >= 20)
        #expect((outage["sensorgate_buffer_bytes"] ?? 0) > 0)
        #expect((outage["sensorgate_buffer_oldest_event_age_seconds"] ?? 0) >= 1)
        #expect(outage.sum("sensorgate_buffer_written_events_total") >= 20)

        // Back: connected again, the backlog drains, the buffer is empty.
        try broker.start()
        let drained = try await Self.scrape(http) { $0["sensorgate_uplink_up"] == 1 && $0["sensorgate_buffer_events"] == 0 }
        #expect(drained["sensorgate_uplink_connects_total"] == 2)
        #expect(drained["sensorgate_buffer_events"] == 0)
        #expect(drained["sensorgate_buffer_oldest_event_age_seconds"] == 0)
        #expect(drained.sum("sensorgate_acknowledged_events_total") > outage.sum("sensorgate_acknowledged_events_total"))
        #expect(drained.sum("sensorgate_http_responses_total", "code=\"200\"") >= 3)

        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func healthzTurns503DuringALongOutageAnd200AfterTheDrain() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, broker: broker.port, http: http).path])
        #expect(await gateway.waitFor { $0.contains("serving /metrics") })
        #expect(await Self.waitForHealth(http, 200))
        let healthy = try await HTTPGet.get(port: http, "/healthz")
        #expect(healthy.json?["status"] as? String == "ok")

        broker.stop()
        #expect(await Self.waitForHealth(http, 503))
        let sick = try await HTTPGet.get(port: http, "/healthz")
        #expect(sick.status == 503)
        let reasons = (sick.json?["reasons"] as? [[String: Any]]) ?? []
        #expect(reasons.map { $0["reason"] as? String } == ["uplink_down"])
        #expect((reasons.first?["message"] as? String)?.contains("has been unreachable for") == true)

        try broker.start()
        #expect(await Self.waitForHealth(http, 200))
        let status = try await HTTPGet.get(port: http, "/status").json
        #expect((status?["uplink"] as? [String: Any])?["connected"] as? Bool == true)
        let after = try await HTTPGet.get(port: http, "/healthz")
        #expect(after.status == 200)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    /// A gateway whose every device fails says so; one whose buffer is nearly full too.
    @Test func healthzNamesEveryDeviceFailingAndABufferNearlyFull() async throws {
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let closed = try Broker.freePort()  // nothing listens: every event goes to buffer.db
        let profiles = TestPaths.packageRoot.appendingPathComponent("Devices").path
        let failing = try dir.write("failing.yaml", """
            gateway: { id: sick, state_dir: ./failing, profiles_dir: \(profiles) }
            http: { listen: "127.0.0.1:\(http)" }
            devices:
              - { id: dead, adapter: sysfs, profile: cpu-thermal, path: \(dir.url.path)/missing, interval: 100ms }
              - { id: broken, adapter: simulated, kind: temperature, interval: 50ms, fail_rate: 1 }
            """)
        let first = try GatewayProcess(["run", "--config", failing.path])
        #expect(await Self.waitForReason(http, "all_devices_failing"))
        let status = try await HTTPGet.get(port: http, "/status").json
        let devices = (status?["devices"] as? [[String: Any]]) ?? []
        #expect(devices.count == 2 && devices.allSatisfy { $0["failing"] as? Bool == true })
        #expect(((devices.first { $0["id"] as? String == "dead" }?["failures"] as? [String: Any])?["missing"] as? Int ?? 0) >= 1)
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)

        let full = try dir.write("full.yaml", """
            gateway: { id: full, state_dir: ./full }
            mqtt: { url: "mqtt://127.0.0.1:\(closed)" }
            buffer: { max_events: 50 }
            http: { listen: "127.0.0.1:\(http)" }
            devices:
              - { id: filler, adapter: simulated, kind: temperature, interval: 10ms }
            """)
        let second = try GatewayProcess(["run", "--config", full.path])
        #expect(await Self.waitForReason(http, "buffer_nearly_full"))
        let sick = try await HTTPGet.get(port: http, "/healthz")
        #expect(sick.status == 503)
        #expect(sick.body.contains("the offline buffer holds"))
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
    }

    @Test func statusMatchesWhatTheBrokerReceived() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port, filter: "#")
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, broker: broker.port, http: http).path])
        #expect(await subscriber.waitFor { $0.seqs.count >= 60 })
        let status = try #require(try await HTTPGet.get(port: http, "/status?history=1").json)
        #expect(status["gateway"] as? String == "obs")
        #expect(status["version"] as? String == SensorgateVersion.current)
        #expect((status["uptime_seconds"] as? Int ?? -1) >= 0)
        let devices = try #require(status["devices"] as? [[String: Any]])
        #expect(devices.map { $0["id"] as? String } == ["living", "flaky", "hall"])
        // Each device's last event as /status tells it is at the broker, with the same value.
        #expect(await subscriber.waitFor(timeout: 10) { sub in
            devices.allSatisfy { d in
                guard let seq = d["seq"] as? Int else { return d["id"] as? String == "hall" }
                return sub.events.contains { $0.seq == UInt64(seq) }
            }
        })
        let events = subscriber.events
        for device in devices {
            guard let seq = device["seq"] as? Int else { continue }
            let atBroker = try #require(events.first { $0.seq == UInt64(seq) })
            #expect(atBroker.json["subject"] as? String == device["id"] as? String)
            #expect(atBroker.json["time"] as? String == device["time"] as? String)
            if let value = device["value"] as? Double {
                #expect((atBroker.json["data"] as? [String: Any])?["celsius"] as? Double == value)
            }
            // It is the last of that device the broker had when /status answered (later ones
            // have a higher seq).
            let earlier = events.filter { $0.json["subject"] as? String == device["id"] as? String && $0.seq <= UInt64(seq) }
            #expect(earlier.last?.seq == UInt64(seq))
            #expect(device["readings"] as? Int ?? 0 >= earlier.count)
            let history = try #require(device["history"] as? [String: Any])
            #expect((history["values"] as? [Any])?.count == 120)
        }
        #expect((devices[1]["failures"] as? [String: Any])?["readError"] as? Int ?? 0 >= 1)
        // Thermostat and alerts as the last commands and alerts at the broker say.
        let thermostat = try #require((status["thermostats"] as? [[String: Any]])?.first)
        let lastCommand = events.last { $0.topic == "sensorgate/obs/ThermostatCommand/heater" && $0.seq <= UInt64(status["events"].flatMap { ($0 as? [String: Any])?["last_seq"] as? Int } ?? 0) }
        #expect(thermostat["output"] as? String == (lastCommand?.json["data"] as? [String: Any])?["output"] as? String)
        #expect(thermostat["target"] as? Int == 20)
        let alerts = (status["alerts"] as? [[String: Any]]) ?? []
        #expect(alerts.contains { $0["rule"] as? String == "flaky-seen" && $0["severity"] as? String == "warning" })
        #expect(events.contains { $0.topic == "sensorgate/obs/AlertRaised/flaky-seen" })
        let uplink = try #require(status["uplink"] as? [String: Any])
        #expect(uplink["connected"] as? Bool == true)
        #expect(uplink["broker"] as? String == "127.0.0.1:\(broker.port)")
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func aListenAddressOtherHostsCanReachNeedsAToken() async throws {
        let dir = try TemporaryDirectory()
        let open = try dir.write("open.yaml", """
            gateway: { id: lan }
            http: { listen: "0.0.0.0:9180" }
            """)
        let (status, output) = try await runSensorgate(["check", "--config", open.path])
        #expect(status == 1)
        #expect(output.contains("open.yaml:2:17: error: 'listen' 0.0.0.0:9180 can be reached from other hosts: set 'token' or 'token_file'"))

        let tokenFile = try dir.write("token", "0123456789abcdef0123\n")
        chmod(tokenFile.path, 0o644)
        let shared = try dir.write("shared.yaml", "gateway: { id: lan }\nhttp: { listen: \"[::]:9180\", token_file: ./token }\n")
        let (sharedStatus, sharedOutput) = try await runSensorgate(["check", "--config", shared.path])
        #expect(sharedStatus == 1)
        #expect(sharedOutput.contains("shared.yaml:2:42: error: '\(tokenFile.path)' is readable by group or others (mode 644); run chmod 600 on it"))
        chmod(tokenFile.path, 0o600)
        let (fixedStatus, _) = try await runSensorgate(["check", "--config", shared.path])
        #expect(fixedStatus == 0)
    }

    @Test func withATokenEveryRequestWithoutItGets401() async throws {
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let token = "s3cret-token-0123456789"
        let config = try dir.write("gateway.yaml", """
            gateway: { id: lan, state_dir: ./state }
            http: { listen: "0.0.0.0:\(http)", token: "\(token)" }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 100ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.contains("serving /metrics") })
        for path in ["/", "/metrics", "/healthz", "/status", "/events", "/nowhere"] {
            let none = try await HTTPGet.get(port: http, path)
            #expect(none.status == 401, "\(path)")
            #expect(none.headers["www-authenticate"] == "Bearer realm=\"sensorgate\"")
            let wrong = try await HTTPGet.get(port: http, path, headers: ["Authorization": "Bearer \(token)x"])
            #expect(wrong.status == 401, "\(path)")
        }
        #expect(try await HTTPGet.get(port: http, "/metrics", headers: ["Authorization": "Bearer \(token)"]).status == 200)
        #expect(try await HTTPGet.get(port: http, "/status", headers: ["Authorization": "bearer \(token)"]).status == 200)
        #expect(try await HTTPGet.get(port: http, "/?token=\(token)").status == 200)  // a browser, which cannot set the header for EventSource
        let metrics = PrometheusSamples(try await HTTPGet.get(port: http, "/metrics", headers: ["Authorization": "Bearer \(token)"]).body)
        #expect(metrics.sum("sensorgate_http_responses_total", "code=\"401\"") >= 12)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func aTakenPortStopsRunAtOnceWithTheReason() async throws {
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: twice, state_dir: ./state }
            http: { listen: "127.0.0.1:\(http)" }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 100ms }
            """)
        let first = try GatewayProcess(["run", "--config", config.path])
        #expect(await first.waitFor { $0.contains("serving /metrics") })
        let other = try TemporaryDirectory()
        let second = try other.write("gateway.yaml", try String(contentsOf: config, encoding: .utf8))
        let (status, output) = try await runSensorgate(["run", "--config", second.path])
        #expect(status == 1)
        #expect(output.contains("cannot listen on 127.0.0.1:\(http): Address already in use"))
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
    }

    /// A log line about an event names its seq (and device), so it can be matched to the event
    /// on the broker: a device's recovery names the reading that ended the outage, a rule's
    /// publish the event that fired it.
    @Test func logLinesAboutAnEventCarryItsSeqAndDevice() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: logs, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            devices:
              - { id: flaky, adapter: simulated, kind: temperature, interval: 20ms, seed: 2, fail_rate: 0.5 }
              - { id: hall, adapter: simulated, kind: motion, rate: 20, seed: 4 }
            rules:
              - name: light
                when: { motion: { device: hall } }
                then:
                  - publish: { topic: hall/light/set, payload: "ON" }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("readings again after") && $0.contains("rule publish:") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let lines = gateway.output.split(separator: "\n").map(String.init)
        func seq(in line: String) -> String? {
            guard let range = line.range(of: " seq=") else { return nil }
            return String(line[range.upperBound...].prefix { $0.isNumber })
        }
        func event(_ seq: String) -> String? { lines.first { $0.hasSuffix("  #\(seq)") } }
        let recovery = try #require(lines.first { $0.contains("flaky: readings again after") })
        let recoverySeq = try #require(seq(in: recovery))
        #expect(event(recoverySeq)?.contains(" flaky        TemperatureReading ") == true, "\(recovery)")
        let publish = try #require(lines.first { $0.contains("rule publish: ON to hall/light/set") })
        let publishSeq = try #require(seq(in: publish))
        #expect(event(publishSeq)?.contains(" hall         MotionDetected ") == true, "\(publish)")
    }

    /// One dead channel of a BME280 whose other two read: each poll was a failure and a
    /// recovery, two log lines every interval. Now its first failure and recovery are logged,
    /// then its failures at powers of ten only.
    @Test func oneDeadChannelBesideLiveOnesDoesNotFloodTheLog() async throws {
        let dir = try TemporaryDirectory()
        let iio = dir.url.appendingPathComponent("iio")
        try FileManager.default.copyItem(atPath: HomeAssistantGatewayTests.sys + "/bus/iio/devices/iio:device0", toPath: iio.path)
        try FileManager.default.removeItem(at: iio.appendingPathComponent("in_humidityrelative_input"))
        let config = try dir.write("gateway.yaml", """
            gateway: { id: flap, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            devices:
              - { id: bme, profile: bme280, path: "\(iio.path)", interval: 20ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        // 30 polls: 30 humidity failures, 60 readings.
        #expect(await gateway.waitFor(timeout: 30) { $0.components(separatedBy: "PressureReading").count > 30 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let lines = gateway.output.split(separator: "\n")
        let polls = lines.filter { $0.contains("PressureReading") }.count
        let failures = lines.filter { $0.contains("bme: ") && $0.contains("humidity") }
        let recoveries = lines.filter { $0.contains("bme: readings again") }
        // The first, the 10th, and the 100th if it got that far.
        #expect((2...3).contains(failures.count), "\(polls) polls: \(failures.joined(separator: "\n"))")
        #expect(failures.last?.contains("so far") == true)
        #expect(recoveries.count == 1, "\(recoveries.joined(separator: "\n"))")
        #expect(lines.filter { $0.contains("HumidityReading") }.isEmpty)
    }

    static func waitForReason(_ port: Int, _ reason: String, timeout: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let response = try? await HTTPGet.get(port: port, "/healthz")
            let reasons = ((response?.json?["reasons"] as? [[String: Any]]) ?? []).compactMap { $0["reason"] as? String }
            if response?.status == 503, reasons.contains(reason) { return true }
            await pause(0.2)
        }
        return false
    }

    static func waitForHealth(_ port: Int, _ status: Int, timeout: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await HTTPGet.get(port: port, "/healthz").status) == status { return true }
            await pause(0.2)
        }
        return false
    }
}
