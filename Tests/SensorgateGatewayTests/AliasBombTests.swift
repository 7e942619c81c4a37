import Foundation
import Testing

/// Issue 17 point 6: a few hundred bytes of nested YAML aliases took seconds and gigabytes, or
/// hung, in `check` and in a running gateway on SIGHUP. Now each is one located error, at once,
/// and the gateway keeps its running config. The processes are watched and killed past a time
/// or memory bound, so the tests fail instead of taking the machine down when the bound breaks.
@Suite(.serialized) struct AliasBombTests {
    static let bombs: [(file: String, at: String)] = [
        ("merge-keys-depth-8.yaml", "10:16"),
        ("alias-keys-under-unknown-key.yaml", "62:8"),
    ]
    static let message = "error: YAML aliases expand to more than 10000 nodes by this alias"

    static func fixture(_ name: String) -> URL {
        TestPaths.fixtures.appendingPathComponent("alias-bombs/\(name)")
    }

    @Test(arguments: bombs.map(\.file))
    func checkRefusesABombAtOnceAndSmall(_ name: String) async throws {
        let at = try #require(Self.bombs.first { $0.file == name }?.at)
        let check = try GatewayProcess(["check", "--config", Self.fixture(name).path])
        let watched = await check.watch(until: { !check.process.isRunning }, seconds: 5, residentMB: 100)
        #expect(watched.held, "still running after \(watched.seconds) s at \(watched.peakMB) MB: killed")
        #expect(await check.waitForExit() == 1)
        #expect(check.output.contains("\(name):\(at): \(Self.message)"))
    }

    @Test func sighupWithABombKeepsTheRunningConfigAndTheProcessSmall() async throws {
        let dir = try TemporaryDirectory()
        let config = try GatewayProcessTests.config(in: dir, devices: "  - { id: before, adapter: simulated, kind: temperature, interval: 20ms }")
        // At debug, so its event lines show that the old devices keep running.
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("before ") })
        let peakBefore = try #require(gateway.statusKB("VmHWM"))

        for (name, at) in Self.bombs {
            try Data(contentsOf: Self.fixture(name)).write(to: config, options: .atomic)
            let mark = gateway.output.count
            gateway.signal(SIGHUP)
            let watched = await gateway.watch(until: { String(gateway.output.dropFirst(mark)).contains("the running config stays") },
                                              seconds: 5, residentMB: 200)
            #expect(watched.held, "no answer to SIGHUP after \(watched.seconds) s at \(watched.peakMB) MB: killed")
            #expect(gateway.output.contains("gateway.yaml:\(at): \(Self.message)"))
            let after = gateway.output.count
            #expect(await gateway.waitFor(timeout: 5) { String($0.dropFirst(after)).contains("before ") })  // the old devices still run
        }
        let peakAfter = try #require(gateway.statusKB("VmHWM"))
        #expect(peakAfter - peakBefore < 5_000, "peak RSS grew from \(peakBefore) kB to \(peakAfter) kB")

        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }
}

extension GatewayProcess {
    /// A field of /proc/PID/status in kB (VmRSS, VmHWM), nil once the process is gone.
    func statusKB(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// Polls `done` while watching the process; kills it when `seconds` pass or its resident
    /// memory exceeds `residentMB`. `held`: done came within both bounds.
    func watch(until done: () -> Bool, seconds: Double, residentMB: Int) async -> (held: Bool, seconds: Double, peakMB: Int) {
        let start = Date()
        var peakKB = 0
        while !done() {
            peakKB = max(peakKB, statusKB("VmRSS") ?? 0)
            let elapsed = Date().timeIntervalSince(start)
            if elapsed > seconds || peakKB > residentMB * 1024 {
                signal(SIGKILL)
                return (false, elapsed, peakKB / 1024)
            }
            await pause(0.005)
        }
        return (true, Date().timeIntervalSince(start), peakKB / 1024)
    }
}
