import Foundation
import Testing
import SensorgateAdapters
import SensorgateCore
@testable import SensorgateGateway

/// `check` on broken configs: every problem of a file, located, in one run, matching the
/// `.expected` file next to each fixture.
@Suite struct ConfigFixtureTests {
    static let brokenConfigs: [String] = {
        let dir = TestPaths.fixtures.appendingPathComponent("configs")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("valid-") }.sorted()
    }()

    /// Diagnostics with the machine-specific folder prefixes removed.
    static func diagnostics(for path: String, environment: [String: String] = [:]) -> [String] {
        ConfigFile.load(path: path, environment: environment).diagnostics.map {
            $0.description
                .replacingOccurrences(of: TestPaths.fixtures.path + "/", with: "")
                .replacingOccurrences(of: TestPaths.packageRoot.path + "/", with: "")
        }
    }

    @Test func everyErrorClassHasAFixture() async {
        #expect(Self.brokenConfigs.count >= 12)
    }

    @Test(arguments: brokenConfigs)
    func brokenConfigReportsExactlyTheExpectedErrors(_ name: String) async throws {
        let path = TestPaths.fixtures.appendingPathComponent("configs/\(name)").path
        let expected = try String(contentsOfFile: path.replacingOccurrences(of: ".yaml", with: ".expected"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let actual = Self.diagnostics(for: path)
        #expect(actual == expected)
        #expect(ConfigFile.load(path: path, environment: [:]).config == nil)
    }

    @Test func validConfigWithEverySectionLoads() async throws {
        let path = TestPaths.fixtures.appendingPathComponent("configs/valid-everything.yaml").path
        let result = ConfigFile.load(path: path, environment: [:])
        #expect(result.diagnostics.isEmpty)
        let config = try #require(result.config)
        #expect(config.devices.map(\.id) == ["cpu", "tank", "hall", "attic", "garage", "room-1", "room-2"])
        #expect(config.device("garage")?.adapter == "mqtt")  // taken from the profile
        #expect(config.device("cpu")?.reading?.unit == .millicelsius)
        #expect(config.mqtt?.password == "secret")
        #expect(config.mqtt?.protocolVersion == .v311)
        #expect(config.buffer.maxBytes == 1024 * 1024)
        #expect(config.buffer.mode == .always)
        #expect(config.rules.count == 2)
        #expect(config.thermostats.first?.minOn == .seconds(60))
        #expect(config.gateway.stateDir.hasSuffix("Fixtures/configs/var"))
        if let s = config.device("cpu")?.settings as? SysfsSettings {
            #expect(s.path == "/sys/class/thermal/thermal_zone0/temp")  // profile default
            #expect(s.interval == .seconds(5))
        } else {
            Issue.record("cpu should be a sysfs device")
        }
        if let s = config.device("attic")?.settings as? SerialSettings {
            #expect(s.baud == 115200)  // the device overrides the profile's 9600
        } else {
            Issue.record("attic should be a serial device")
        }
    }

    @Test func environmentVariablesAreSubstituted() async throws {
        let path = TestPaths.fixtures.appendingPathComponent("configs/unset-environment-variable.yaml").path
        let diagnostics = Self.diagnostics(for: path, environment: [
            "SENSORGATE_TEST_UNSET_HOST": "broker", "SENSORGATE_TEST_UNSET_PASSWORD": "pw"])
        #expect(diagnostics == ["configs/unset-environment-variable.yaml:7:14: error: '${' without a closing '}' in 'client_id' (write $$ for a literal $)"])
    }

    @Test(arguments: ["demo.yaml", "example.yaml"])
    func shippedConfigsAreValid(_ name: String) async throws {
        let path = TestPaths.packageRoot.appendingPathComponent("Config/\(name)").path
        let result = ConfigFile.load(path: path, environment: [:])
        #expect(result.diagnostics.filter { $0.severity == .error }.map(\.description) == [])
        #expect(result.config != nil)
    }

    @Test func everyShippedProfileLoadsWithoutWarnings() async throws {
        let devices = TestPaths.packageRoot.appendingPathComponent("Devices")
        let profiles = try FileManager.default.contentsOfDirectory(atPath: devices.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(profiles.count >= 10)
        let dir = try TemporaryDirectory()
        var entries = ""
        for (i, file) in profiles.enumerated() {
            let text = try String(contentsOf: devices.appendingPathComponent(file), encoding: .utf8)
            let adapter = text.split(separator: "\n").first { $0.hasPrefix("adapter:") }.map { $0.dropFirst(8).trimmingCharacters(in: .whitespaces) }
            let extra: String
            switch adapter {
            case "sysfs": extra = "path: /sys/x"
            case "serial": extra = "port: /dev/ttyUSB0"
            case "gpio": extra = "{ chip: /dev/gpiochip0, line: 17 }"
            case "mqtt": extra = "topic: t/\(i)"
            default: Issue.record("\(file) has no known adapter"); continue
            }
            let keys = extra.hasPrefix("{") ? "chip: /dev/gpiochip0\n    line: 17" : extra
            entries += "  - id: d\(i)\n    profile: \(file.dropLast(5))\n    \(keys)\n"
        }
        let config = try dir.write("all-profiles.yaml", "gateway:\n  id: t\n  profiles_dir: \(devices.path)\nmqtt:\n  url: mqtt://127.0.0.1:1883\ndevices:\n\(entries)")
        let result = ConfigFile.load(path: config.path, environment: [:])
        #expect(result.diagnostics.map(\.description) == [])
        #expect(result.config?.devices.count == profiles.count)
    }

    /// Group-readable is the Debian layout (root:sensorgate 0640); readable by every user is refused,
    /// with the commands that fix it.
    @Test func passwordFileMustNotBeWorldReadable() async throws {
        let dir = try TemporaryDirectory()
        let secret = try dir.write("mqtt-password", "s3cret\n")
        let config = try dir.write("c.yaml", "gateway: { id: t }\nmqtt:\n  url: mqtt://127.0.0.1\n  password_file: mqtt-password\n")
        for mode: mode_t in [0o644, 0o604, 0o602] {
            chmod(secret.path, mode)
            let open = ConfigFile.load(path: config.path, environment: [:])
            #expect(open.config == nil)
            let p = secret.path
            #expect(open.diagnostics.map(\.description) == [
                "\(config.path):4:18: error: '\(p)' is open to every user on this host (mode \(String(mode, radix: 8))); run chmod 600 '\(p)', or for the packaged service chown root:sensorgate '\(p)' && chmod 640 '\(p)'"])
            #expect(!open.diagnostics.map(\.description).joined().contains("s3cret"))
        }
        for mode: mode_t in [0o640, 0o600, 0o400] {
            chmod(secret.path, mode)
            let closed = ConfigFile.load(path: config.path, environment: [:])
            #expect(closed.diagnostics.map(\.description) == [])
            let mqtt = try #require(closed.config?.mqtt)
            #expect(ConfigFile.password(for: mqtt) == "s3cret")
        }
    }

    /// `password_file: ${CREDENTIALS_DIRECTORY:-/etc/credstore}/sensorgate.mqtt-password`, as the
    /// packaged unit's LoadCredential= provides it, and as a shell outside the service reads it.
    @Test func passwordFileFromSystemdCredentials() async throws {
        let dir = try TemporaryDirectory()
        let credentials = dir.url.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        let secret = credentials.appendingPathComponent("sensorgate.mqtt-password")
        try "from-systemd\n".write(to: secret, atomically: true, encoding: .utf8)
        chmod(secret.path, 0o400)  // as systemd writes it
        let config = try dir.write("c.yaml", "gateway: { id: t }\nmqtt:\n  url: mqtt://127.0.0.1\n  password_file: ${CREDENTIALS_DIRECTORY:-/etc/credstore}/sensorgate.mqtt-password\n")
        let loaded = ConfigFile.load(path: config.path, environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(loaded.diagnostics.map(\.description) == [])
        let mqtt = try #require(loaded.config?.mqtt)
        #expect(mqtt.passwordFile?.value == secret.path)
        #expect(ConfigFile.password(for: mqtt) == "from-systemd")
        // Outside the service: the original in /etc/credstore (absent on this machine).
        let shell = ConfigFile.load(path: config.path, environment: [:])
        #expect(shell.diagnostics.map(\.description) == [
            "\(config.path):4:18: error: password file '/etc/credstore/sensorgate.mqtt-password' does not exist"])
        // Without a default, an unset variable is named.
        let bare = try dir.write("d.yaml", "gateway: { id: t }\nmqtt:\n  url: mqtt://127.0.0.1\n  password_file: ${CREDENTIALS_DIRECTORY}/x\n")
        #expect(ConfigFile.load(path: bare.path, environment: [:]).diagnostics.map(\.description) == [
            "\(bare.path):4:18: error: environment variable 'CREDENTIALS_DIRECTORY' is not set and has no default (write ${CREDENTIALS_DIRECTORY:-value} to give one)"])
    }

    @Test func anMQTTDeviceNeedsAnMQTTSection() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("c.yaml", """
            gateway: { id: t, profiles_dir: \(TestPaths.packageRoot.path)/Devices }
            devices:
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage }
            """)
        let result = ConfigFile.load(path: config.path, environment: [:])
        #expect(result.diagnostics.map(\.description) == [
            "\(config.path):3:11: error: device 'garage' reads an MQTT topic, but there is no 'mqtt' section to connect with"])
    }

    @Test func aReadingSpecMakesOnlyReadingEvents() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("c.yaml", """
            gateway: { id: t }
            devices:
              - { id: cpu, adapter: sysfs, path: /sys/x, event: AlertRaised, format: integer }
            """)
        #expect(ConfigFile.load(path: config.path, environment: [:]).diagnostics.map(\.description) == [
            "\(config.path):3:53: error: 'event' must be one of TemperatureReading, MotionDetected, HumidityReading, PressureReading, ContactChanged, BatteryLevel, got \"AlertRaised\""])
    }

    @Test func anUnknownAdapterIsALocatedError() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("c.yaml", """
            gateway: { id: t }
            devices:
              - { id: cpu, adapter: sysf, path: /sys/x }
            """)
        #expect(ConfigFile.load(path: config.path, environment: [:]).diagnostics.map(\.description) == [
            "\(config.path):3:25: error: 'adapter' must be one of sysfs, serial, gpio, mqtt, simulated, got \"sysf\"; did you mean 'sysfs'?"])
    }

    @Test func missingConfigFileIsOneClearError() {
        let result = ConfigFile.load(path: "/nonexistent/sensorgate.yaml", environment: [:])
        #expect(result.diagnostics.map(\.description) == ["/nonexistent/sensorgate.yaml:1:1: error: cannot read the config file"])
    }
}
