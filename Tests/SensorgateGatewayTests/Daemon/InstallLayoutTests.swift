import Foundation
import Testing
import SensorgateCore
@testable import SensorgateGateway

/// Where an installed gateway finds its config, profiles and state: a scratch tree stands for
/// `/`, so nothing here touches the real /etc or /var/lib.
@Suite struct InstallLayoutTests {
    /// root/etc/sensorgate/sensorgate.yaml, root/etc/sensorgate/devices, root/usr/share/sensorgate/devices.
    final class Tree {
        let dir: TemporaryDirectory
        let layout: InstallLayout
        var root: String { dir.url.path }

        init() throws {
            dir = try TemporaryDirectory()
            let root = dir.url.path
            layout = InstallLayout(defaultConfig: "\(root)/etc/sensorgate/sensorgate.yaml", systemConfigRoot: "\(root)/etc",
                                   systemStateDir: "\(root)/var/lib/sensorgate",
                                   systemProfileDirs: ["\(root)/etc/sensorgate/devices", "\(root)/usr/share/sensorgate/devices"])
            for d in ["etc/sensorgate/devices", "usr/share/sensorgate/devices", "home/pi/Devices"] {
                try FileManager.default.createDirectory(atPath: "\(root)/\(d)", withIntermediateDirectories: true)
            }
        }

        func write(_ path: String, _ text: String) throws {
            try text.write(toFile: "\(root)/\(path)", atomically: true, encoding: .utf8)
        }

        func profile(_ path: String, unit: String) throws {
            try write(path, "adapter: sysfs\nevent: TemperatureReading\nformat: integer\nunit: \(unit)\n")
        }

        func load(_ path: String, environment: [String: String] = [:]) -> ConfigLoadResult {
            ConfigFile.load(path: "\(root)/\(path)", environment: environment, layout: layout)
        }
    }

    static let config = "gateway: { id: pi }\ndevices:\n  - { id: cpu, profile: thermo, path: /sys/x }\n"

    @Test func aSystemConfigKeepsItsStateInVarLibNeverUnderEtc() throws {
        let tree = try Tree()
        try tree.write("etc/sensorgate/sensorgate.yaml", Self.config)
        try tree.profile("usr/share/sensorgate/devices/thermo.yaml", unit: "celsius")
        let result = tree.load("etc/sensorgate/sensorgate.yaml")
        #expect(result.diagnostics.map(\.description) == [])
        #expect(result.config?.gateway.stateDir == "\(tree.root)/var/lib/sensorgate")
    }

    @Test func systemdsStateDirectoryComesFirst() throws {
        let tree = try Tree()
        try tree.write("etc/sensorgate/sensorgate.yaml", Self.config)
        try tree.profile("usr/share/sensorgate/devices/thermo.yaml", unit: "celsius")
        let result = tree.load("etc/sensorgate/sensorgate.yaml", environment: ["STATE_DIRECTORY": "/var/lib/sensorgate-a:/var/lib/other"])
        #expect(result.config?.gateway.stateDir == "/var/lib/sensorgate-a")
        // An explicit state_dir still wins over the default.
        try tree.write("etc/sensorgate/sensorgate.yaml", "gateway: { id: pi, state_dir: /srv/state }\n")
        #expect(tree.load("etc/sensorgate/sensorgate.yaml", environment: ["STATE_DIRECTORY": "/x"]).config?.gateway.stateDir == "/srv/state")
    }

    @Test func aConfigElsewhereKeepsItsStateBesideIt() throws {
        let tree = try Tree()
        try tree.write("home/pi/gw.yaml", "gateway: { id: pi }\n")
        #expect(tree.load("home/pi/gw.yaml").config?.gateway.stateDir == "\(tree.root)/home/pi/var")
        // The demo's own state_dir is untouched.
        let demo = ConfigFile.load(path: TestPaths.packageRoot.appendingPathComponent("Config/demo.yaml").path, environment: [:])
        #expect(demo.config?.gateway.stateDir == TestPaths.packageRoot.appendingPathComponent("var/demo").path)
    }

    @Test func stateWrittenUnderEtcIsWarnedAbout() throws {
        let tree = try Tree()
        try tree.write("etc/sensorgate/sensorgate.yaml", "gateway: { id: pi, state_dir: ./var }\n")
        let result = tree.load("etc/sensorgate/sensorgate.yaml")
        #expect(result.config != nil)
        #expect(result.diagnostics.map(\.description) == [
            "\(tree.root)/etc/sensorgate/sensorgate.yaml:1:31: warning: 'state_dir' is under \(tree.root)/etc (\(tree.root)/etc/sensorgate/var): state belongs in \(tree.root)/var/lib/sensorgate; leave 'state_dir' out to get it"])
    }

    /// profiles_dir, then /etc/sensorgate/devices, then /usr/share/sensorgate/devices: a local
    /// copy overrides the shipped one; the config's own folder overrides both.
    @Test func profilesAreLookedUpInOrder() throws {
        let tree = try Tree()
        try tree.profile("usr/share/sensorgate/devices/thermo.yaml", unit: "celsius")
        try tree.write("etc/sensorgate/sensorgate.yaml", Self.config)
        #expect(tree.load("etc/sensorgate/sensorgate.yaml").config?.device("cpu")?.reading?.unit == .celsius)
        try tree.profile("etc/sensorgate/devices/thermo.yaml", unit: "millicelsius")
        #expect(tree.load("etc/sensorgate/sensorgate.yaml").config?.device("cpu")?.reading?.unit == .millicelsius)
        try FileManager.default.createDirectory(atPath: "\(tree.root)/etc/sensorgate/mine", withIntermediateDirectories: true)
        try tree.profile("etc/sensorgate/mine/thermo.yaml", unit: "fahrenheit")
        try tree.write("etc/sensorgate/sensorgate.yaml", Self.config.replacingOccurrences(of: "{ id: pi }", with: "{ id: pi, profiles_dir: mine }"))
        #expect(tree.load("etc/sensorgate/sensorgate.yaml").config?.device("cpu")?.reading?.unit == .fahrenheit)

        // A config outside /etc still finds Devices/ beside it first, and the system folders after.
        try tree.write("home/pi/gw.yaml", Self.config)
        #expect(tree.load("home/pi/gw.yaml").config?.device("cpu")?.reading?.unit == .millicelsius)
        try tree.profile("home/pi/Devices/thermo.yaml", unit: "fahrenheit")
        #expect(tree.load("home/pi/gw.yaml").config?.device("cpu")?.reading?.unit == .fahrenheit)

        try tree.write("etc/sensorgate/sensorgate.yaml", "gateway: { id: pi }\ndevices:\n  - { id: cpu, profile: thermo2, path: /sys/x }\n")
        #expect(tree.load("etc/sensorgate/sensorgate.yaml").diagnostics.map(\.description) == [
            "\(tree.root)/etc/sensorgate/sensorgate.yaml:3:25: error: unknown profile 'thermo2' (looked in \(tree.root)/etc/sensorgate/devices, \(tree.root)/usr/share/sensorgate/devices); did you mean 'thermo'?"])
    }

    @Test(arguments: [("/usr/bin/sensorgate", "/usr/share/sensorgate/devices"),
                      ("/usr/local/bin/sensorgate", "/usr/local/share/sensorgate/devices"),
                      ("/bin/sensorgate", "/usr/share/sensorgate/devices"),
                      ("/tmp/root/usr/bin/sensorgate", "/tmp/root/usr/share/sensorgate/devices"),
                      ("/work/.build/debug/sensorgate", "/usr/share/sensorgate/devices")])
    func shippedProfilesAreFoundBesideTheBinary(_ executable: String, _ shipped: String) {
        let layout = InstallLayout.forExecutable(executable)
        #expect(layout.systemProfileDirs == ["/etc/sensorgate/devices", shipped])
        #expect(layout.defaultConfig == "/etc/sensorgate/sensorgate.yaml")
        #expect(layout.systemStateDir == "/var/lib/sensorgate")
    }

    @Test func withoutConfigEveryCommandReadsEtcSensorgate() async throws {
        try #require(!FileManager.default.fileExists(atPath: "/etc/sensorgate/sensorgate.yaml"), "this machine has a real /etc/sensorgate")
        for command in [["check"], ["run"], ["buffer", "stats"]] {
            let (status, output) = try await runSensorgate(command)
            #expect(status == 1)
            #expect(output.contains("/etc/sensorgate/sensorgate.yaml:1:1: error: cannot read the config file"), "\(command): \(output)")
        }
    }

    @Test func versionIsPrintedAndLoggedAtStart() async throws {
        let (status, output) = try await runSensorgate(["--version"])
        #expect(status == 0)
        #expect(output == SensorgateVersion.current + "\n")
        let dir = try TemporaryDirectory()
        let config = try dir.write("gw.yaml", "gateway: { id: v }\ndevices: []\n")
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.contains("notice sensorgate \(SensorgateVersion.current): v running 0 device(s)") })
        #expect(await gateway.terminateDuringStartup() == 0)
    }
}

extension GatewayProcess {
    /// SIGTERM until it exits (a signal during start-up is recorded and carried out once the
    /// signal service listens; repeating it costs nothing and bounds the wait).
    func terminateDuringStartup() async -> Int32 {
        for _ in 0..<20 where process.isRunning {
            signal(SIGTERM)
            _ = await waitFor(timeout: 1) { _ in !self.process.isRunning }
        }
        return await waitForExit()
    }
}
