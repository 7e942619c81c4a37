import Foundation
import Testing
import SensorgateRuntime
@testable import SensorgateGateway

/// The real binary under a stand-in for systemd: NOTIFY_SOCKET is a datagram socket this test
/// binds, WATCHDOG_USEC asks for pings. READY once the pipeline runs and the broker has been
/// tried, STATUS lines, WATCHDOG while the loops turn, RELOADING/READY around SIGHUP, STOPPING
/// when a stop begins.
@Suite(.serialized) struct SystemdNotifyTests {
    static func config(_ dir: TemporaryDirectory, port: Int?) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: sd, state_dir: ./state }
            \(port.map { "mqtt: { url: \"mqtt://127.0.0.1:\($0)\" }" } ?? "")
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 20ms }
            """)
    }

    @Test func readyStatusWatchdogReloadAndStopArriveInOrder() async throws {
        let broker = try Broker()
        let notify = try NotifySocket()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let config = try Self.config(dir, port: broker.port)
        let gateway = try GatewayProcess(["run", "--config", config.path],
                                         environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])

        #expect(await notify.waitFor { $0.contains { $0.hasPrefix("READY=1") } })
        // Nothing before READY: no watchdog ping, no reload, no stop.
        #expect(notify.texts.first?.hasPrefix("READY=1") == true, "\(notify.texts)")
        #expect(await gateway.waitFor { $0.contains("running 1 device(s)") && $0.contains("connected to 127.0.0.1:\(broker.port)") })

        // STATUS: a sentence for `systemctl status`, with the rate, the buffer and the uplink.
        #expect(await notify.waitFor(timeout: 15) { texts in
            texts.contains { $0.hasPrefix("STATUS=") && $0.contains(" events/s, buffer 0, uplink connected to 127.0.0.1:\(broker.port)") }
        }, "\(notify.texts)")
        let rate = notify.texts.last { $0.hasPrefix("STATUS=") }.flatMap { Double($0.dropFirst(7).prefix { $0 != " " }) }
        #expect((rate ?? 0) > 10, "50 readings a second should show: \(notify.texts)")

        // WATCHDOG=1 about every half interval (500 ms) while the loops turn.
        // (Counted over the time that really passed: a loaded machine may sleep longer than asked.)
        let (pings, started) = (notify.count("WATCHDOG=1"), Date())
        await pause(3)
        let more = notify.count("WATCHDOG=1") - pings
        let expected = Date().timeIntervalSince(started) / 0.5
        // Fed while the loops turn, and never more often than every half interval (on a loaded
        // machine the service's own ticks come late, so fewer pings is no fault).
        #expect(more >= 2 && Double(more) <= expected + 1.5, "\(more) pings in \(Date().timeIntervalSince(started)) s")

        // SIGHUP: RELOADING=1 (with the monotonic time systemd 253+ matches), then READY=1 once reloaded.
        let before = notify.texts.count
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("reloaded:") })
        #expect(await notify.waitFor { Array($0.dropFirst(before)).contains { $0.hasPrefix("READY=1") } })
        let reload = Array(notify.texts.dropFirst(before)).filter { !$0.hasPrefix("WATCHDOG") && !$0.hasPrefix("STATUS") }
        #expect(reload.count == 2 && reload[0].hasPrefix("RELOADING=1\nMONOTONIC_USEC=") && reload[1] == "READY=1", "\(reload)")

        // A config with errors: still RELOADING then READY (the old config goes on).
        try "gateway: { id: sd, state_dir: ./state }\ndevices: [ { id: x, adapter: nope } ]\n".write(to: config, atomically: true, encoding: .utf8)
        let before2 = notify.texts.count
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("the running config stays") })
        #expect(await notify.waitFor { Array($0.dropFirst(before2)).contains("READY=1") })

        // SIGTERM: STOPPING=1 first, then no more pings; the gateway still stops cleanly.
        gateway.signal(SIGTERM)
        #expect(await notify.waitFor { $0.contains("STOPPING=1") })
        #expect(await gateway.waitForExit() == 0)
        let texts = notify.texts
        let stopping = try #require(texts.firstIndex(of: "STOPPING=1"))
        #expect(!texts[stopping...].contains { $0 == "WATCHDOG=1" || $0.hasPrefix("READY") })
        #expect(gateway.output.contains("SIGTERM: stopping"))
    }

    /// A broker that is not there does not hold READY back: the first attempt was made (and
    /// failed, which the log and STATUS say); without an `mqtt` section READY follows the pipeline.
    @Test(arguments: [true, false])
    func readyWithoutABroker(hasMQTTSection: Bool) async throws {
        let notify = try NotifySocket()
        let dir = try TemporaryDirectory()
        let port = try Broker.freePort()
        let config = try Self.config(dir, port: hasMQTTSection ? port : nil)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"],
                                         environment: ["NOTIFY_SOCKET": notify.path])
        #expect(await notify.waitFor(timeout: 10) { $0.contains { $0.hasPrefix("READY=1") } })
        #expect(await gateway.waitFor { $0.contains("#1") })  // the pipeline runs
        if hasMQTTSection {
            #expect(await gateway.waitFor { $0.contains("cannot connect to 127.0.0.1:\(port)") })
            #expect(await notify.waitFor(timeout: 10) { $0.contains { $0.hasPrefix("STATUS=") && $0.contains("uplink not yet connected to 127.0.0.1:\(port)") } })
            #expect(await notify.waitFor(timeout: 10) { $0.contains { $0.hasPrefix("STATUS=") && !$0.contains("buffer 0,") } }, "events are buffered")
        } else {
            #expect(await notify.waitFor(timeout: 10) { $0.contains { $0.hasPrefix("STATUS=") && $0.contains("uplink none (no mqtt section)") } })
        }
        #expect(notify.count("WATCHDOG=1") == 0)  // no WATCHDOG_USEC: no pings
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(notify.texts.contains("STOPPING=1"))
    }

    /// An abstract-namespace NOTIFY_SOCKET (`@name`) reaches the same kind of socket.
    @Test func abstractSocketAddress() throws {
        let name = "sensorgate-test-\(UUID().uuidString)"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in name.utf8.enumerated() { raw[i + 1] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.utf8.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
        #expect(notifier.send("READY=1"))
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buffer, buffer.count, 0)
        #expect(n > 0 && String(decoding: buffer[0..<n], as: UTF8.self) == "READY=1")
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative"]) == nil)
    }

    @Test func watchdogIntervalIsForThisProcessOnly() {
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
    }

    /// The watchdog is fed only while every loop has beaten recently: a wedged pipeline or
    /// forwarder (or one that never started) stops the pings, and systemd restarts the service.
    @Test func watchdogNeedsEveryHeartbeatRecent() {
        let now: Int64 = 100_000
        #expect(WatchdogCheck.healthy(beats: [now - 200, now - 900], now: now, limit: 3_000))
        #expect(!WatchdogCheck.healthy(beats: [now - 200, now - 3_001], now: now, limit: 3_000))
        #expect(!WatchdogCheck.healthy(beats: [now - 5_000, now - 10], now: now, limit: 3_000))
        #expect(!WatchdogCheck.healthy(beats: [now - 10, nil], now: now, limit: 3_000))
        let beat = Heartbeat()
        #expect(beat.lastBeat == nil)
        beat.beat()
        #expect((beat.age() ?? .max) < 1_000)
    }

    @Test func statusLineReadsWell() {
        var rate = EventRate()
        #expect(rate.update(emitted: 100, at: 10_000) == "0")
        #expect(rate.update(emitted: 142, at: 15_000) == "8.4")
        #expect(rate.update(emitted: 192, at: 20_000) == "10")
    }
}
