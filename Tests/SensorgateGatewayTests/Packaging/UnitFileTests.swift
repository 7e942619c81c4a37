import Foundation
import Testing

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
                         "StateDirectory=sensorgate", "ConfigurationDirectory=sensorgate", "LoadCredential=mqtt-password:sensorgate.mqtt-password",
                         "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "DeviceAllow=char-gpiochip rw", "DeviceAllow=char-ttyUSB rw",
                         "DeviceAllow=char-ttyAMA rw", "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-ttyS rw",
                         "SystemCallFilter=@system-service", "SystemCallFilter=adjtimex clock_adjtime"] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // These would hide the sensors: a private /dev, or /proc/sys (boot id) and /sys gone.
        #expect(!lines.contains("PrivateDevices=yes") && !lines.contains("ProcSubset=pid") && !lines.contains("ProtectClock=yes"))
    }
}
