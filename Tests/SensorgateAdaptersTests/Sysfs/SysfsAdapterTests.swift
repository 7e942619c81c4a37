import Foundation
import Testing
import SensorgateCore
@testable import SensorgateAdapters

/// The sysfs adapter on a fixture tree shaped like a Raspberry Pi's /sys.
@Suite struct SysfsAdapterTests {
    static let sys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sys").path

    func adapter(_ path: String, format: ReadingFormat = .integer, unit: TemperatureUnit = .millicelsius,
                 range: ClosedRange<Double>? = -55...125) throws -> SysfsAdapter {
        try SysfsAdapter(deviceID: "dev", settings: SysfsSettings(path: path, interval: .milliseconds(20)),
                         spec: ReadingSpec(event: .temperature, format: format, unit: unit, validRange: range))
    }

    func celsius(_ output: AdapterOutput?) -> Double? {
        if case .reading(let r)? = output, case .temperature(let c) = r.value { return c }
        return nil
    }

    @Test func thermalZoneAndHwmonAreMillidegrees() throws {
        #expect(celsius(try adapter(Self.sys + "/class/thermal/thermal_zone0/temp").readOnce()) == 48.312)
        #expect(celsius(try adapter(Self.sys + "/class/hwmon/hwmon1/temp1_input").readOnce()) == 23.125)
    }

    @Test func oneWireGoodAndCrcFailing() throws {
        let good = try adapter(Self.sys + "/bus/w1/devices/28-0316a2795aff/w1_slave", format: .w1Slave)
        #expect(celsius(good.readOnce()) == 21.875)
        let bad = try adapter(Self.sys + "/bus/w1/devices/28-0416b1c2d3ff/w1_slave", format: .w1Slave)
        guard case .failure(_, let reason, _)? = bad.readOnce() else { Issue.record("a CRC failure became a reading"); return }
        #expect(reason == "crcFailed")
        // The newer `temperature` attribute: plain millidegrees.
        #expect(celsius(try adapter(Self.sys + "/bus/w1/devices/28-0316a2795aff/temperature").readOnce()) == 21.875)
    }

    @Test func iioInputAndRawWithScaleAndOffset() throws {
        #expect(celsius(try adapter(Self.sys + "/bus/iio/devices/iio:device0/in_temp_input").readOnce()) == 21.34)
        // (1234 + -500) × 31.25 = 22937.5 m°C
        let raw = try adapter(Self.sys + "/bus/iio/devices/iio:device1/in_temp_raw", format: .float)
        #expect(celsius(raw.readOnce()) == 22.9375)
    }

    @Test func aRemovedSensorIsCountedAndRecoversByItself() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("w1_slave")
        let a = try adapter(file.path, format: .w1Slave)
        let outputs = OutputLog()
        let task = Task { try await a.run { await outputs.append($0) } }
        #expect(await outputs.waitFor { $0.count >= 3 })
        try FileManager.default.copyItem(atPath: Self.sys + "/bus/w1/devices/28-0316a2795aff/w1_slave", toPath: file.path)
        #expect(await outputs.waitFor { $0.contains { if case .reading = $0 { return true } else { return false } } })
        task.cancel()
        let log = await outputs.items
        guard case .failure(let device, let reason, let detail) = log[0] else { Issue.record("expected a failure first"); return }
        #expect(device == "dev" && reason == "missing")
        #expect(detail.contains("is gone (sensor unplugged"))
    }

    @Test func aSlowReadStallsNeitherTheCallerNorOtherSensors() async throws {
        // A FIFO with no writer blocks open() like a 1-Wire conversion blocks read().
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("slow").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let slow = try adapter(fifo)
        let fast = try adapter(Self.sys + "/class/thermal/thermal_zone0/temp")
        let slowLog = OutputLog(), fastLog = OutputLog()
        let t1 = Task { try await slow.run { await slowLog.append($0) } }
        let t2 = Task { try await fast.run { await fastLog.append($0) } }
        #expect(await fastLog.waitFor { $0.count >= 10 })
        #expect(await slowLog.items.isEmpty)
        // Unblock the slow read: it delivers its reading.
        let writer = open(fifo, O_WRONLY)
        _ = "21000\n".withCString { write(writer, $0, 6) }
        close(writer)
        #expect(await slowLog.waitFor { !$0.isEmpty })
        #expect(celsius(await slowLog.items.first) == 21.0)
        t1.cancel(); t2.cancel()
        // Let the slow reader's next open() return so its queue does not stay blocked.
        let unblock = open(fifo, O_WRONLY | O_NONBLOCK)
        if unblock >= 0 { close(unblock) }
    }
}

/// Adapter outputs collected for a test. Waits are generous: under `swift test`'s parallel load,
/// tests that block threads can hold up the async side for seconds.
actor OutputLog {
    private(set) var items: [AdapterOutput] = []
    func append(_ o: AdapterOutput) { items.append(o) }

    func waitFor(timeout: Duration = .seconds(30), _ predicate: @Sendable ([AdapterOutput]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if predicate(items) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return predicate(items)
    }
}

@Suite struct PacingTests {
    /// Only a source that loses nothing by waiting may be slowed while the broker catches up.
    @Test func onlySimulatedSensorsArePaced() throws {
        let sim = SimulatedAdapter(deviceID: "s", settings: SimulatedSettings(kind: .temperature, interval: .zero, start: 20, step: 0.1,
                                                                               minimum: 10, maximum: 30, rate: 0, seed: 1, failRate: 0),
                                   fallbackSeed: 1)
        let sysfs = try SysfsAdapter(deviceID: "d", settings: SysfsSettings(path: "/nonexistent", interval: .seconds(1)),
                                     spec: ReadingSpec(event: .temperature, format: .integer, unit: .millicelsius))
        let serial = try SerialAdapter(deviceID: "p", settings: SerialSettings(port: "/nonexistent", baud: 9600),
                                       spec: ReadingSpec(event: .temperature, format: .float))
        #expect(sim.canBePaced)
        #expect(!sysfs.canBePaced && !serial.canBePaced)
    }
}
