import Foundation
import Testing
import SensorgateAdapters

/// The systemd unit in Packaging/systemd, checked with Debian 12's own systemd-analyze (offline:
/// no systemd runs here): `verify` finds nothing to say and `security` rates it OK or better.
@Suite struct UnitFileTests {
    static let unit = TestPaths.packageRoot.appendingPathComponent("Packaging/systemd/sensorgate.service")

    /// Runs a tool to completion: (status, stdout+stderr).
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        try await runSensorgate(arguments, environment: environment, executable: URL(fileURLWithPath: tool))
    }

    /// `systemd-analyze verify` on a copy whose ExecStart names `binary` (it checks that the
    /// command exists, and /usr/bin/sensorgate is not installed on this machine).
    static func verify(unit: URL, binary: String, manPath: String? = nil) async throws -> (Int32, String) {
        let dir = try TemporaryDirectory()
        let text = try String(contentsOf: unit, encoding: .utf8).replacingOccurrences(of: "ExecStart=/usr/bin/sensorgate ", with: "ExecStart=\(binary) ")
        let copy = try dir.write("sensorgate.service", text)
        let man = manPath == nil ? ["--man=no"] : ["--man=yes"]
        return try await run("/usr/bin/systemd-analyze", ["verify"] + man + [copy.path], environment: manPath.map { ["MANPATH": $0] } ?? [:])
    }

    /// `systemd-analyze security --offline=true`: the overall exposure (0 best, 10 worst).
    static func exposure(of unit: URL) async throws -> (Double, String) {
        let (status, output) = try await run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", unit.path])
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level for sensorgate.service:") }, "\(output)")
        let figure = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
        return (figure, String(line))
    }

    @Test func verifyIsClean() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "apt-get install systemd (make deps does)")
        let (status, output) = try await Self.verify(unit: Self.unit, binary: TestPaths.binary.path)
        #expect(status == 0 && output.isEmpty, "\(output)")
    }

    @Test func securityExposureIsOKOrBetter() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "apt-get install systemd (make deps does)")
        let (figure, line) = try await Self.exposure(of: Self.unit)
        #expect(figure <= 3.0, "\(line)")
        #expect(line.contains(" OK") || line.contains(" SAFE"), "\(line)")
    }

    /// What the gateway relies on is in the unit: notify with a watchdog, reload by SIGHUP, its
    /// own user and groups, state and credentials from systemd, and the hardening that still lets
    /// it read sysfs, GPIO and serial ports.
    @Test func theUnitSaysWhatTheGatewayExpects() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
        for expected in ["Type=notify", "ExecStart=/usr/bin/sensorgate run --config /etc/sensorgate/sensorgate.yaml",
                         "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=30s", "User=sensorgate", "SupplementaryGroups=gpio dialout",
                         "StateDirectory=sensorgate", "ConfigurationDirectory=sensorgate", "LoadCredential=sensorgate.mqtt-password",
                         "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-ttyUSB rw",
                         "DeviceAllow=char-ttyAMA rw", "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-ttyS rw",
                         "SystemCallFilter=@system-service", "SystemCallFilter=adjtimex clock_adjtime"] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // These would hide the sensors: a private /dev, or /proc/sys (boot id) and /sys gone.
        #expect(!lines.contains("PrivateDevices=yes") && !lines.contains("ProcSubset=pid") && !lines.contains("ProtectClock=yes"))
    }

    /// The system calls the unit's SystemCallFilter= lines allow, combined as systemd does: the
    /// first line sets allow or deny, each later one adds or removes (groups expanded by
    /// `systemd-analyze syscall-filter`).
    static func allowedSystemCalls() async throws -> Set<String> {
        var cache: [String: Set<String>] = [:]
        func expand(_ name: String) async throws -> Set<String> {
            guard name.hasPrefix("@") else { return [name] }
            if let known = cache[name] { return known }
            let (_, listing) = try await run("/usr/bin/systemd-analyze", ["syscall-filter", "--no-pager", name])
            var result: Set<String> = []
            for line in listing.split(separator: "\n").dropFirst() {
                let item = line.trimmingCharacters(in: .whitespaces)
                if item.isEmpty || item.hasPrefix("#") { continue }
                result.formUnion(try await expand(item))
            }
            cache[name] = result
            return result
        }
        var allowed: Set<String>? = nil
        for line in try String(contentsOf: unit, encoding: .utf8).split(separator: "\n") where line.hasPrefix("SystemCallFilter=") {
            var value = line.dropFirst("SystemCallFilter=".count)
            let deny = value.hasPrefix("~")
            if deny { value = value.dropFirst() }
            var names: Set<String> = []
            for token in value.split(separator: " ") { names.formUnion(try await expand(String(token))) }
            if allowed == nil {
                try #require(!deny, "the first SystemCallFilter= line should make an allow list")
                allowed = names
            } else if deny {
                allowed!.subtract(names)
            } else {
                allowed!.formUnion(names)
            }
        }
        return allowed ?? []
    }

    /// Every system call a gateway makes with each kind of input (sysfs, a serial pty, a GPIO
    /// recording, MQTT in and out, SQLite in `mode: always`, sd_notify, a reload), traced with
    /// strace, is one the unit's filter lets through: nothing fails with EPERM under systemd.
    @Test func theGatewaysSystemCallsPassTheUnitsFilter() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "apt-get install strace (make deps does)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"))
        let allowed = try await Self.allowedSystemCalls()
        #expect(allowed.contains("adjtimex") && allowed.contains("clock_adjtime") && allowed.contains("ioctl"))
        #expect(!allowed.contains("mount") && !allowed.contains("setuid") && !allowed.contains("settimeofday"))

        let broker = try Broker()
        let notify = try NotifySocket()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let sys = TestPaths.packageRoot.appendingPathComponent("Tests/SensorgateAdaptersTests/Fixtures/sys").path
        let port = dir.url.appendingPathComponent("ttyV0").path, other = dir.url.appendingPathComponent("ttyV1").path
        let socat = try spawnWithDefaultSignals("/usr/bin/socat", ["pty,raw,echo=0,link=\(port)", "pty,raw,echo=0,link=\(other)"],
                                                output: dir.url.appendingPathComponent("socat.log").path)
        defer { kill(socat, SIGKILL); var s: Int32 = 0; waitpid(socat, &s, 0) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: other) { await pause(0.02) }
        let gpio = dir.url.appendingPathComponent("gpio-recording")
        try Data(GPIOLineEvent(timestampNanoseconds: 1_795_694_400_000_000_000, edge: .rising, offset: 17, seqno: 1, lineSeqno: 1).record).write(to: gpio)
        let config = try dir.write("all.yaml", """
            gateway: { id: traced, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            buffer: { mode: always }
            devices:
              - { id: cpu, profile: cpu-thermal, path: "\(sys)/class/thermal/thermal_zone0/temp", interval: 100ms }
              - { id: w1, profile: ds18b20, path: "\(sys)/bus/w1/devices/28-0316a2795aff/w1_slave", interval: 100ms }
              - { id: arduino, profile: arduino-serial, port: "\(port)" }
              - { id: hall, profile: hc-sr501, chip: "\(gpio.path)", line: 17 }
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage }
              - { id: sim, adapter: simulated, kind: temperature, interval: 50ms }
            rules:
              - name: warm
                when: { temperature: { device: cpu, above: 40 } }
                then: [ { alert: { severity: info, message: "{device} warm" } } ]
            """)
        let trace = dir.url.appendingPathComponent("strace.txt").path
        let gateway = try GatewayProcess(["-f", "-qq", "-o", trace, TestPaths.binary.path, "run", "--config", config.path],
                                         environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"],
                                         executable: URL(fileURLWithPath: "/usr/bin/strace"))
        // Signals go to the traced gateway, not to strace (which would detach and end on them).
        // The gateway is the child of strace that runs the gateway's binary: strace first forks
        // short-lived children of its own to probe ptrace's features, and taking its first child
        // sent every signal of this test to a probe long gone (on a loaded machine the probe
        // lived long enough to be seen; the gateway then never reloaded nor stopped, outlived
        // the test, and the test waited on strace).
        var traced: pid_t = 0
        let binary = TestPaths.binary.resolvingSymlinksInPath().path
        for _ in 0..<1_500 where traced == 0 {
            let pid = gateway.process.processIdentifier
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            traced = children.split(separator: " ").compactMap { pid_t($0) }.first { child in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/exe")) == binary
            } ?? 0
            if traced == 0 { await pause(0.02) }
        }
        try #require(traced > 0, "no child of strace runs \(binary)")
        // strace killed leaves its tracee running, holding the test's pipe.
        defer { kill(traced, SIGKILL) }
        #expect(await gateway.waitFor(timeout: 30) { $0.contains("connected to 127.0.0.1:\(broker.port)") })
        let fd = open(other, O_WRONLY | O_NOCTTY)
        _ = "T=21.5\r\n".withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let pub = Process()
        pub.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        pub.arguments = ["-p", String(broker.port), "-t", "zigbee2mqtt/garage", "-m", #"{"temperature":4.5}"#]
        try pub.run()
        pub.waitUntilExit()
        #expect(await notify.waitFor { $0.contains { $0.hasPrefix("READY=1") } })
        await pause(1.5)
        // Everything under strace -f runs several times slower: give the reload time.
        kill(traced, SIGHUP)
        #expect(await gateway.waitFor(timeout: 60) { $0.contains("reloaded:") }, "\(gateway.output.suffix(1_500))")
        await pause(1)
        kill(traced, SIGTERM)
        #expect(await gateway.waitForExit(timeout: 30) == 0)
        #expect(notify.texts.contains("WATCHDOG=1") && notify.texts.contains("STOPPING=1"))

        var used: Set<String> = []
        for line in try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n") {
            // `8697  brk(NULL) = 0x55e3…`: the pid, spaces, the call.
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2 else { continue }
            let call = fields[1].drop { $0 == " " }
            guard let open = call.firstIndex(of: "(") else { continue }
            let name = call[..<open]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { used.insert(String(name)) }
        }
        #expect(used.count > 30, "strace saw \(used.count) system calls")
        #expect(used.contains("ioctl") && used.contains("sendto") && (used.contains("fdatasync") || used.contains("fsync")), "\(used.sorted())")
        // What the strace child itself runs before exec (execve) is not the gateway's. SQLite
        // hands a new -journal/-wal file to the database's owner only when it runs as root
        // (geteuid() == 0), which the service, as user sensorgate, never does.
        let onlyAsRoot: Set<String> = geteuid() == 0 ? ["fchown"] : []
        let refused = used.subtracting(allowed).subtracting(["execve"]).subtracting(onlyAsRoot)
        #expect(refused.isEmpty, "the unit would refuse: \(refused.sorted())")
    }
}
