import Foundation
import Testing
import SensorgateCore
import SensorgateRuntime
@testable import SensorgateAdapters

/// Devices with several channels through the shipped profiles: a BME280 on the fixture tree
/// shaped like a Pi's /sys, zigbee2mqtt and Tasmota payloads, a reed contact on a GPIO line.
@Suite struct MultiChannelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sys = root.appendingPathComponent("Tests/SensorgateAdaptersTests/Fixtures/sys").path
    static let devices = root.appendingPathComponent("Devices").path

    struct Files: ConfigFileSource {
        let inline: [String: String]
        func readFile(_ path: String) -> String? { inline[path] ?? (try? String(contentsOfFile: path, encoding: .utf8)) }
        func listDirectory(_ path: String) -> [String]? { try? FileManager.default.contentsOfDirectory(atPath: path) }
    }

    /// Loads `devices:` YAML against the real profiles; the diagnostics as text, and the config.
    static func load(_ devicesYAML: String) -> ([String], GatewayConfig?) {
        let text = "gateway: { id: t, profiles_dir: \(devices) }\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\n" + devicesYAML
        let result = ConfigLoader(files: Files(inline: ["/c.yaml": text]), environment: [:], adapters: AdapterRegistry.all).load(path: "/c.yaml")
        return (result.diagnostics.map(\.description), result.config)
    }

    static func values(_ outputs: [AdapterOutput]) -> [ReadingValue] {
        outputs.compactMap { if case .reading(let r) = $0 { return r.value } else { return nil } }
    }

    @Test func aBME280FixtureYieldsTemperatureHumidityAndPressureInTheirUnits() throws {
        let (diagnostics, config) = Self.load("devices:\n  - { id: bme, profile: bme280, path: \"\(Self.sys)/bus/iio/devices/iio:device0\" }\n")
        #expect(diagnostics == [])
        let device = try #require(config?.devices.first)
        #expect(device.eventTypes == [.temperatureReading, .humidityReading, .pressureReading])
        let adapter = try #require(try AdapterRegistry.makeAdapter(for: device) as? SysfsAdapter)
        let values = Self.values(adapter.readAll())
        #expect(values.count == 3)
        #expect(values[0] == .temperature(celsius: 21.34))                     // in_temp_input 21340 m°C
        #expect(values[1] == .humidity(percent: 45.21))                        // in_humidityrelative_input 45210 m%
        #expect(values[2].number.map(roundedReading) == 1009.136)              // in_pressure_input 100.913585937 kPa
        #expect(values[2].eventType == .pressureReading)
    }

    @Test func anOldConfigNamingOneFileReadsTheDirectoryAndSaysSo() throws {
        let (diagnostics, config) = Self.load("devices:\n  - { id: bme, profile: bme280, path: \"\(Self.sys)/bus/iio/devices/iio:device0/in_humidityrelative_input\" }\n")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.contains("warning: device 'bme' (profile bme280) reads in_temp_input, in_humidityrelative_input, in_pressure_input from its 'path' directory, but 'path' names the file in_humidityrelative_input") == true)
        let device = try #require(config?.devices.first)
        #expect((device.settings as? SysfsSettings)?.path == "\(Self.sys)/bus/iio/devices/iio:device0")
        let adapter = try #require(try AdapterRegistry.makeAdapter(for: device) as? SysfsAdapter)
        #expect(Self.values(adapter.readAll()).map(\.eventType) == [.temperatureReading, .humidityReading, .pressureReading])
    }

    @Test func aMissingChannelFileIsCountedForThatChannelOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "21340\n".write(to: dir.appendingPathComponent("in_temp_input"), atomically: true, encoding: .utf8)
        try "not a number\n".write(to: dir.appendingPathComponent("in_pressure_input"), atomically: true, encoding: .utf8)
        let (_, config) = Self.load("devices:\n  - { id: bme, profile: bme280, path: \"\(dir.path)\" }\n")
        let device = try #require(config?.devices.first)
        let adapter = try #require(try AdapterRegistry.makeAdapter(for: device) as? SysfsAdapter)
        let outputs = adapter.readAll()
        #expect(Self.values(outputs) == [.temperature(celsius: 21.34)])
        let failures = outputs.compactMap { if case .failure(_, let reason, let detail) = $0 { return "\(reason.rawValue): \(detail)" } else { return nil } }
        #expect(failures.count == 2)
        #expect(failures[0].hasPrefix("missing: humidity: "))
        #expect(failures[1].hasPrefix("malformed: in_pressure_input: expected a number"))
    }

    @Test func aZigbee2mqttPayloadYieldsEachFieldThroughTheProfile() throws {
        let (diagnostics, config) = Self.load("devices:\n  - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage }\n")
        #expect(diagnostics == [])
        let device = try #require(config?.devices.first)
        let adapter = try #require(try AdapterRegistry.makeAdapter(for: device) as? MQTTInputAdapter)
        let payload = #"{"temperature":4.5,"humidity":81,"battery":97,"linkquality":120}"#
        let outputs = adapter.decodeAll(.payload(topic: "zigbee2mqtt/garage", bytes: Array(payload.utf8)))
        #expect(Self.values(outputs) == [.temperature(celsius: 4.5), .humidity(percent: 81), .battery(percent: 97)])
        #expect(outputs.allSatisfy { $0.deviceID == "garage" })
        let none = adapter.decodeAll(.payload(topic: "zigbee2mqtt/garage", bytes: Array(#"{"linkquality":9}"#.utf8)))
        guard case .failure(_, .missingField, let detail)? = none.first else { Issue.record("expected missingField"); return }
        #expect(detail.hasPrefix("zigbee2mqtt/garage: none of this device's channels"))
    }

    @Test func tasmotaAndContactProfiles() throws {
        let (diagnostics, config) = Self.load("""
            devices:
              - { id: balcony, profile: tasmota-bme280, topic: tele/balcony/SENSOR }
              - { id: window, profile: zigbee2mqtt-contact, topic: zigbee2mqtt/window }
            """)
        #expect(diagnostics == [])
        let devices = try #require(config?.devices)
        let tasmota = try #require(try AdapterRegistry.makeAdapter(for: devices[0]) as? MQTTInputAdapter)
        let sensor = #"{"Time":"2024-01-14T12:00:01","BME280":{"Temperature":21.4,"Humidity":45.2,"DewPoint":9.1,"Pressure":1009.1},"PressureUnit":"hPa","TempUnit":"C"}"#
        #expect(Self.values(tasmota.decodeAll(.payload(topic: "tele/balcony/SENSOR", bytes: Array(sensor.utf8))))
                == [.temperature(celsius: 21.4), .humidity(percent: 45.2), .pressure(hpa: 1009.1)])
        let contact = try #require(try AdapterRegistry.makeAdapter(for: devices[1]) as? MQTTInputAdapter)
        #expect(Self.values(contact.decodeAll(.payload(topic: "zigbee2mqtt/window", bytes: Array(#"{"contact":false,"battery":91}"#.utf8))))
                == [.contact(open: true), .battery(percent: 91)])
    }

    @Test func aReedContactReportsEveryEdgeAsOpenOrClosed() async throws {
        let (diagnostics, config) = Self.load("devices:\n  - { id: door, profile: reed-switch, chip: /dev/gpiochip0, line: 5 }\n")
        #expect(diagnostics == [])
        let device = try #require(config?.devices.first)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0]
        let settings = try #require(device.settings as? GPIOSettings)
        // The kernel says the line is low when it is requested: the door is closed at start.
        let adapter = try GPIOAdapter(deviceID: "door", settings: settings, spec: try device.decodedReadings(),
                                      openLine: { .init(fd: readEnd, kernelDebounce: false, level: false) })
        let ms: UInt64 = 1_000_000, t0: UInt64 = 1_795_000_000_000_000_000
        var bytes: [UInt8] = []
        // Opened (with bounce the 50 ms debounce swallows), closed two seconds later.
        for (i, (at, edge)) in [(0, LineEdge.rising), (2 * ms, .falling), (3 * ms, .rising), (2000 * ms, .falling)].enumerated() {
            bytes += GPIOLineEvent(timestampNanoseconds: t0 + at, edge: edge, offset: 5, seqno: UInt32(i + 1), lineSeqno: UInt32(i + 1)).record
        }
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        let log = OutputLog()
        try await adapter.run(into: log.sink)
        let outputs = await log.items
        #expect(Self.values(outputs) == [.contact(open: false), .contact(open: true), .contact(open: false)])
        let times = outputs.compactMap { if case .reading(let r) = $0 { return r.time?.millisecondsSinceEpoch } else { return nil } }
        #expect(times == [Int64(t0 / ms), Int64(t0 / ms) + 2000])  // the state at start is stamped by the gateway
    }
}
