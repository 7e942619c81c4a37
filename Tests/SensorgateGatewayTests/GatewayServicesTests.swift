import Foundation
import Testing
import SensorgateAdapters
import SensorgateCore

/// The gateway's services as a user meets them: one gateway per state directory, reloads that
/// change the broker or keep a thermostat, devices that come back by themselves, and the
/// buffer that empties after an outage.
@Suite(.serialized) struct GatewayServicesTests {
    @Test func aSecondGatewayOnTheSameStateDirExitsAtOnce() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: twin, state_dir: ./state }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
            """)
        let first = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await first.waitFor { $0.contains("#2") })
        let started = Date()
        let (status, output) = try await runSensorgate(["run", "--config", config.path])
        #expect(status == 1)
        #expect(output.contains("already running (pid \(first.process.processIdentifier))"))
        #expect(Date().timeIntervalSince(started) < 10)
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        // Once the first one is gone, the directory is free again (the lock dies with its process).
        let third = try GatewayProcess(["run", "--config", config.path])
        #expect(await third.waitFor { $0.contains("running 1 device(s)") })
        third.signal(SIGKILL)
        _ = await third.waitForExit()
        let fourth = try GatewayProcess(["run", "--config", config.path])
        #expect(await fourth.waitFor { $0.contains("running 1 device(s)") })
        fourth.signal(SIGTERM)
        #expect(await fourth.waitForExit() == 0)
    }

    /// SIGTERM as soon as the gateway says it runs (often before its signal service has started):
    /// a graceful stop every time, never ignored (it was SIG_IGN until the service ran, so
    /// `systemctl stop` during start-up waited for the SIGKILL) and never fatal.
    @Test func aStopDuringStartUpIsCarriedOut() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: quick, state_dir: ./state }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
            """)
        for _ in 0..<5 {
            let gateway = try GatewayProcess(["run", "--config", config.path])
            #expect(await gateway.waitFor { $0.contains("running 1 device(s)") })
            gateway.signal(SIGTERM)
            #expect(await gateway.waitForExit(timeout: 30) == 0)
            #expect(gateway.output.contains("SIGTERM"), "\(gateway.output.suffix(300))")
        }
        // Inside start-up: the lock is held while a large buffer.db is checked (150,000 events:
        // with 50,000 the check was over before a loaded test runner looked).
        let filled = try dir.write("fill.yaml", """
            gateway: { id: quick, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(try Broker.freePort())" }
            devices:
            \((0..<4).map { "  - { id: f\($0), adapter: simulated, kind: temperature, interval: 0s }" }.joined(separator: "\n"))
            """)
        let filler = try GatewayProcess(["run", "--config", filled.path, "--log-level", "debug"])
        #expect(await filler.waitFor(timeout: 60) { $0.contains("#150000") })
        filler.signal(SIGTERM)
        #expect(await filler.waitForExit(timeout: 30) == 0)
        let lockPath = dir.url.appendingPathComponent("state/lock").path
        let gateway = try GatewayProcess(["run", "--config", filled.path])
        var caughtStarting = false
        for _ in 0..<20_000 where !caughtStarting {
            let fd = open(lockPath, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                if flock(fd, LOCK_SH | LOCK_NB) != 0, !gateway.output.contains("running 4 device(s)") { caughtStarting = true }
                close(fd)
            }
            if !caughtStarting { try await Task.sleep(for: .microseconds(200)) }
        }
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit(timeout: 30) == 0)
        #expect(caughtStarting, "never saw the lock held before 'running' (the buffer check too quick?)")
        #expect(gateway.output.contains("SIGTERM (during start-up): stopping"), "\(gateway.output.suffix(300))")
        #expect(gateway.output.contains("forwarder stopped"))
    }

    @Test func sighupAppliesANewBrokerAndKeepsTheSequence() async throws {
        let a = try Broker(), b = try Broker()
        let subA = try Subscriber(port: a.port), subB = try Subscriber(port: b.port)
        defer { withExtendedLifetime((a, b, subA, subB)) {} }
        let dir = try TemporaryDirectory()
        func write(_ port: Int) throws -> URL {
            try dir.write("gateway.yaml", """
                gateway: { id: move, state_dir: ./state }
                mqtt: { url: "mqtt://127.0.0.1:\(port)" }
                devices:
                  - { id: t, adapter: simulated, kind: temperature, interval: 20ms }
                """)
        }
        let config = try write(a.port)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await subA.waitFor { $0.seqs.count >= 10 })
        _ = try write(b.port)
        gateway.signal(SIGHUP)
        #expect(await subB.waitFor { $0.seqs.count >= 10 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(gateway.output.contains("reconnecting with the new settings"))
        #expect(await subA.waitFor(timeout: 5) { $0.lines.contains("sensorgate/move/status offline") })  // A heard the goodbye
        // One sequence across both brokers, nothing lost in the move.
        let all = Set(subA.seqs).union(subB.seqs)
        #expect(!all.isEmpty && all == Set(1...(all.max() ?? 1)))
        #expect(Set(gateway.seqs).isSubset(of: all))
    }

    @Test func aReloadThatKeepsAThermostatSendsItNoCommand() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port, filter: "#")
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try RulesRunTests.config(dir, port: broker.port)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { $0.lines.contains("test/heater/set ON") })
        await pause(0.3)
        let before = subscriber.lines.filter { $0.hasPrefix("sensorgate/test-gw/ThermostatCommand/heater ") }.count
        for i in 1...3 {  // one at a time: signals sent while a reload runs would coalesce
            gateway.signal(SIGHUP)
            #expect(await gateway.waitFor { $0.components(separatedBy: "reloaded:").count > i })
        }
        #expect(await gateway.waitFor { $0.components(separatedBy: "reloaded:").count == 4 })
        await pause(0.5)
        let after = subscriber.lines.filter { $0.hasPrefix("sensorgate/test-gw/ThermostatCommand/heater ") }.count
        #expect(after == before, "a reload sent \(after - before) thermostat command(s)")
        #expect(subscriber.lines.filter { $0 == "test/heater/set ON" }.count == 1)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    /// A GPIO chip missing at start (a recording that appears later, as a chip whose driver
    /// loads late) is retried like a missing sysfs file, counted once per outage.
    @Test func aDeviceThatCannotStartIsRestartedUntilItWorks() async throws {
        let dir = try TemporaryDirectory()
        let chip = dir.url.appendingPathComponent("gpiochip-late")
        let config = try dir.write("gateway.yaml", """
            gateway: { id: late, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            devices:
              - { id: hall, profile: hc-sr501, chip: "\(chip.path)", line: 17 }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("hall: adapterStopped:") && $0.contains("does not exist") })
        let t0: UInt64 = 1_795_694_400_000_000_000
        var recording: [UInt8] = []
        recording += GPIOLineEvent(timestampNanoseconds: t0, edge: .rising, offset: 17, seqno: 1, lineSeqno: 1).record
        try Data(recording).write(to: chip)
        #expect(await gateway.waitFor(timeout: 30) { $0.contains("MotionDetected") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let output = gateway.output
        #expect(output.components(separatedBy: "hall: adapterStopped:").count - 1 == 1, "logged once per outage")
        #expect(output.contains("hall: readings again after"))
    }

    /// After a short outage has drained, events flow from memory again: the buffer stays empty
    /// and (almost) nothing is written per event, as before the outage.
    @Test func afterAnOutageDrainsTheBufferStaysEmptyAndNothingIsWrittenPerEvent() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try MQTTForwardingTests.config(dir, port: broker.port, interval: "5ms")
        // Without the contract tests' event log (make test's SENSORGATE_EMITTED_EVENTS), which
        // would count as the gateway's own writes.
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "notice"],
                                         environment: ["SENSORGATE_EMITTED_EVENTS": ""])
        let pid = gateway.process.processIdentifier
        /// Bytes the gateway has caused to be written to storage (not to sockets or stderr).
        func written() -> Int {
            let io = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
            return io.split(separator: "\n").first { $0.hasPrefix("write_bytes:") }
                .flatMap { Int($0.dropFirst(12).trimmingCharacters(in: .whitespaces)) } ?? -1
        }
        #expect(await subscriber.waitFor { $0.seqs.count >= 200 })
        let beforeOutage = written()
        broker.stop()
        await pause(2)
        try broker.start()
        #expect(await gateway.waitFor { $0.contains("connected to") && $0.contains("sending") })
        await pause(3)  // the drain
        let (bytes0, events0) = (written(), subscriber.seqs.count)
        #expect(bytes0 - beforeOutage > 50_000, "the outage was buffered on disk, so this counter works here")
        var bufferSamples: [String] = []
        for _ in 0..<5 {
            await pause(1)
            let (_, stats) = try await runSensorgate(["buffer", "stats", "--config", config.path])
            bufferSamples.append(stats)
        }
        let (bytes1, events1) = (written(), subscriber.seqs.count)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(bufferSamples.allSatisfy { $0.contains("\"events\": 0") }, "\(bufferSamples)")
        let perEvent = Double(bytes1 - bytes0) / Double(max(1, events1 - events0))
        #expect(events1 - events0 > 500)
        // A buffered event costs a ~300-byte row written two or three times; now only the seq
        // reservation (a page per 10,000 events) is left.
        #expect(perEvent < 50, "\(perEvent) bytes written per event after the drain")
    }
}

extension GatewayServicesTests {
    /// A stop sent while the gateway is still starting (the start line is logged before the
    /// signal service listens) is handled once it listens, not ignored: `systemctl stop` right
    /// after a start must not wait for TimeoutStopSec= and end in a SIGKILL. Likewise a reload.
    @Test func signalsDuringStartupAreHandledNotLost() async throws {
        let dir = try TemporaryDirectory()
        // Many devices widen the window between the start line and the signal service listening.
        let devices = (0..<400).map { "  - { id: t\($0), adapter: simulated, kind: temperature, interval: 1s }" }.joined(separator: "\n")
        let config = try dir.write("gateway.yaml", "gateway: { id: early, state_dir: ./state }\ndevices:\n\(devices)\n")
        for round in 0..<5 {
            let gateway = try GatewayProcess(["run", "--config", config.path])
            #expect(await gateway.waitFor(timeout: 20) { $0.contains("running 400 device(s)") })
            if round == 4 {
                // A reload asked for during start-up happens once the gateway listens.
                gateway.signal(SIGHUP)
                #expect(await gateway.waitFor(timeout: 15) { $0.contains("reloaded: 400 device(s)") })
            }
            gateway.signal(SIGTERM)
            let started = Date()
            #expect(await gateway.waitForExit(timeout: 15) == 0, "round \(round): \(gateway.output)")
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(gateway.output.contains("SIGTERM: stopping") || gateway.output.contains("SIGTERM (during start-up): stopping"))
        }
    }
}
