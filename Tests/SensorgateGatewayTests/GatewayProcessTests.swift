import Foundation
import Testing

/// The real `sensorgate` binary, as a user runs it: events on stderr (one line each at
/// `--log-level debug`), signals, restarts.
@Suite(.serialized) struct GatewayProcessTests {
    static func config(in dir: TemporaryDirectory, devices: String? = nil) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway:
              id: test-gw
              state_dir: ./state
            devices:
            \(devices ?? """
              - { id: living, adapter: simulated, kind: temperature, interval: 20ms, seed: 1, location: living room }
              - { id: flaky, adapter: simulated, kind: temperature, interval: 20ms, seed: 2, fail_rate: 0.5 }
              - { id: hall, adapter: simulated, kind: motion, rate: 50 }
            """)
            """)
    }

    @Test func runPrintsEventsAndStopsCleanlyOnSIGTERM() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(in: dir)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("MotionDetected") && $0.components(separatedBy: "TemperatureReading").count > 10 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let output = gateway.output
        #expect(output.contains("living       TemperatureReading 2"))
        #expect(output.contains("°C  living room  #"))
        #expect(output.contains("hall         MotionDetected     motion  #"))
        #expect(output.contains("flaky: readError: simulated read failure"))
        #expect(output.contains("SIGTERM: stopping"))
        // seq starts at 1 and rises by exactly one per event.
        let seqs = gateway.seqs
        #expect(seqs.first == 1)
        #expect(seqs == Array(1...UInt64(seqs.count)))
    }

    @Test func seqContinuesAcrossCleanRestartsAndNeverRepeatsAfterSIGKILL() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(in: dir)

        let first = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await first.waitFor { _ in first.seqs.count >= 5 })
        first.signal(SIGINT)
        #expect(await first.waitForExit() == 0)
        let lastClean = try #require(first.seqs.last)

        let second = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await second.waitFor { _ in second.seqs.count >= 5 })
        #expect(second.seqs.first == lastClean + 1)  // clean stop: no gap
        second.signal(SIGKILL)
        _ = await second.waitForExit()
        let lastKilled = try #require(second.seqs.last)

        let third = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await third.waitFor { _ in !third.seqs.isEmpty })
        third.signal(SIGTERM)
        #expect(await third.waitForExit() == 0)
        let resumed = try #require(third.seqs.first)
        #expect(resumed > lastKilled)  // after kill -9: a jump forward, never a repeat
    }

    @Test func runRefusesAnInvalidConfigWithLocatedErrors() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("bad.yaml", "gateway:\n  id: g\ndevices:\n  - { id: a, adapter: simulated, kind: temprature }\n")
        let (status, output) = try await runSensorgate(["run", "--config", config.path])
        #expect(status == 1)
        #expect(output.contains("bad.yaml:4:40: error: 'kind' must be temperature or motion, got \"temprature\""))
    }

    @Test func checkExitsOneWithEveryErrorAndZeroWithASummary() async throws {
        let broken = TestPaths.fixtures.appendingPathComponent("configs/wrong-types.yaml").path
        let (badStatus, badOutput) = try await runSensorgate(["check", "--config", broken])
        #expect(badStatus == 1)
        #expect(badOutput.components(separatedBy: ": error: ").count - 1 == 10)
        #expect(badOutput.contains("wrong-types.yaml: 10 errors"))

        let demo = TestPaths.packageRoot.appendingPathComponent("Config/demo.yaml").path
        let (status, output) = try await runSensorgate(["check", "--config", demo])
        #expect(status == 0)
        #expect(output.contains("OK: gateway 'demo', 3 devices"))
    }

    @Test func sighupReloadsAValidConfigAndKeepsTheOldOneOnErrors() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(in: dir, devices: "  - { id: before, adapter: simulated, kind: temperature, interval: 20ms }")
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("before ") })

        try "gateway: { id: test-gw, state_dir: ./state }\ndevices: [ { id: x, adapter: nope } ]\n".write(to: config, atomically: true, encoding: .utf8)
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("the running config stays") })
        #expect(gateway.output.contains("gateway.yaml:2:30: error: 'adapter' must be one of"))
        let mark = gateway.output.count
        #expect(await gateway.waitFor { String($0.dropFirst(mark)).contains("before ") })  // still running the old devices

        _ = try Self.config(in: dir, devices: "  - { id: after, adapter: simulated, kind: temperature, interval: 20ms }")
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("after ") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let seqs = gateway.seqs
        #expect(seqs == Array(1...UInt64(seqs.count)))  // one sequence across the reload
    }
}
