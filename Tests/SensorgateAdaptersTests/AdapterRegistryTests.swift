import Foundation
import Testing
import SensorgateAdapters
import SensorgateCore

/// The registry names each adapter folder once, and an adapter outside the standard list (a toy
/// one, defined below as a new adapter folder would define it) needs only its line in a list.
@Suite struct AdapterRegistryTests {
    static let adaptersFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/SensorgateAdapters")

    @Test func namesEveryAdapterFolderOnce() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.adaptersFolder.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.adaptersFolder.appendingPathComponent($0).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        // SysfsAdapter lives in Sysfs/, its config half in Sysfs/SysfsAdapter+Config.swift.
        let types = AdapterRegistry.standard.adapters.map { String(describing: $0) }
        #expect(types.map { String($0.dropLast("Adapter".count)) }.sorted() == folders.sorted())
        for type in types {
            let config = Self.adaptersFolder.appendingPathComponent("\(type.dropLast("Adapter".count))/\(type)+Config.swift")
            #expect(FileManager.default.fileExists(atPath: config.path), "\(type) has no \(config.lastPathComponent)")
        }
        let names = AdapterRegistry.all.map(\.name)
        #expect(names == ["sysfs", "serial", "gpio", "mqtt", "simulated"])  // the order messages list them in
    }

    @Test func definitionsAreConsistent() {
        let shared = ["id", "adapter", "profile", "location",
                      "event", "format", "unit", "valid_range", "pattern", "field", "motion_when", "edge", "active_low"]
        for definition in AdapterRegistry.all + [ToyAdapter.definition] {
            #expect(Set(definition.keys).count == definition.keys.count, "\(definition.name) lists a key twice")
            #expect(definition.keys.allSatisfy { !shared.contains($0) }, "\(definition.name) redefines a common key")
            #expect((definition.readingFormats ?? []).allSatisfy(ReadingFormat.names.contains), "\(definition.name): unknown format")
        }
    }

    @Test func aDeviceWhoseAdapterIsNotRegisteredIsAnErrorNotACrash() throws {
        let config = try #require(ToyConfig.load(ToyConfig.valid).config)
        #expect(throws: AdapterRegistry.BuildError.self) { try AdapterRegistry.makeAdapter(for: config.devices[0]) }
    }

    @Test func aToyAdapterInATestListParsesItsOwnKeys() throws {
        let result = ToyConfig.load(ToyConfig.valid)
        #expect(result.diagnostics.map(\.description) == [])
        let devices = try #require(result.config?.devices)
        #expect(devices.map(\.adapter) == ["toy", "sysfs"])
        let settings = try #require(devices[0].settings as? ToySettings)
        #expect(settings.pin == 4)
        #expect(settings.gain == 2.5)
        #expect(devices[0].reading?.format == .integer)
        let adapter = try ToyConfig.registry.makeAdapter(for: devices[0])
        #expect((adapter as? ToyAdapter)?.settings.pin == 4)
        #expect(try ToyConfig.registry.makeAdapter(for: devices[1]) is SysfsAdapter)
    }

    @Test func aToyAdapterReportsItsErrorsAtTheirPlace() {
        let result = ToyConfig.load("""
            gateway: { id: t }
            devices:
              - { id: t1, adapter: toy, event: TemperatureReading, format: integer, pin: 99, gain: -1, gian: 2 }
              - { id: t2, adapter: toy, event: TemperatureReading, format: json, field: t }
              - { id: t3, adapter: sysfs, path: /x, event: TemperatureReading, format: integer, pin: 4 }
              - { id: t4, adapter: tyo }
            """)
        #expect(result.diagnostics.map(\.description) == [
            "/c.yaml:3:78: error: 'pin' must be between 0 and 27, got 99",
            "/c.yaml:3:88: error: 'gain' must be more than 0",
            "/c.yaml:3:92: error: unknown key 'gian' in device 't1'; did you mean 'gain'?",
            "/c.yaml:4:5: error: device 't2' needs 'pin' (the BCM pin the toy is wired to)",
            "/c.yaml:4:64: error: format 'json' does not work with the 'toy' adapter (it takes integer, float)",
            "/c.yaml:5:85: error: 'pin' does not apply to the 'sysfs' adapter (device 't3')",
            "/c.yaml:6:24: error: 'adapter' must be one of sysfs, serial, gpio, mqtt, simulated, toy, got \"tyo\"; did you mean 'toy'?",
        ])
    }

    @Test func theStandardListDoesNotKnowTheToy() {
        let result = ConfigLoader(files: ToyConfig.Files(text: ToyConfig.valid), environment: [:], adapters: AdapterRegistry.all)
            .load(path: "/c.yaml")
        #expect(result.diagnostics.map(\.description) == [
            "/c.yaml:3:27: error: 'adapter' must be one of sysfs, serial, gpio, mqtt, simulated, got \"toy\""])
    }
}

// MARK: A toy adapter, as a new folder would define it: settings, definition, factory.

struct ToySettings: AdapterSettings {
    var pin: Int
    var gain: Double
}

struct ToyAdapter: RegisteredAdapter {
    let deviceID: String
    let settings: ToySettings

    func run(into sink: ReadingSink) async throws {}

    static let definition = AdapterDefinition(
        name: "toy", keys: ["pin", "gain"], readings: .decoded(formats: ["integer", "float"])
    ) { s in
        let pin = s.int("pin", in: 0...27, required: "the BCM pin the toy is wired to")
        let gain = s.double("gain") ?? 1
        if gain <= 0 { s.error("'gain' must be more than 0", at: "gain") }
        return pin.map { ToySettings(pin: $0, gain: gain) }
    }

    static func make(_ device: DeviceConfig, settings: ToySettings) throws -> ToyAdapter {
        ToyAdapter(deviceID: device.id, settings: settings)
    }
}

/// The test-only list: the standard adapters plus the toy's one line.
enum ToyConfig {
    static let registry = AdapterRegistry(AdapterRegistry.standard.adapters + [ToyAdapter.self])

    static let valid = """
        gateway: { id: t }
        devices:
          - { id: toy-1, adapter: toy, event: TemperatureReading, format: integer, pin: 4, gain: 2.5 }
          - { id: cpu, adapter: sysfs, event: TemperatureReading, format: integer, path: /sys/x }
        """

    struct Files: ConfigFileSource {
        var text: String
        func readFile(_ path: String) -> String? { path == "/c.yaml" ? text : nil }
        func listDirectory(_ path: String) -> [String]? { nil }
    }

    static func load(_ text: String) -> ConfigLoadResult {
        ConfigLoader(files: Files(text: text), environment: [:], adapters: registry.definitions).load(path: "/c.yaml")
    }
}
