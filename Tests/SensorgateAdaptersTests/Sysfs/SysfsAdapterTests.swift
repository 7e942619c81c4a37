import Foundation
import Testing
import SensorgateCore
import SensorgateRuntime
@testable import SensorgateAdapters

/// The sysfs adapter on a fixture tree shaped like a Raspberry Pi's /sys.
@Suite struct SysfsAdapterTests {
    static let sys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sys").path

    func adapter(_ path: String, format: ReadingFormat = .integer, unit: TemperatureUnit = .millicelsius,
                 range: ClosedRange<Double>? = -55...125) throws -> SysfsAdapter {
        try SysfsAdapter(deviceID: "dev", settings: SysfsSettings(path: path, interval: .milliseconds(20)),
                         spec: ReadingSpec(event: .temperatureReading, format: format, unit: unit, validRange: range))
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
        #expect(reason == .crcFailed)
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
        let task = Task { try await a.run(into: outputs.sink) }
        #expect(await outputs.waitFor { $0.count >= 3 })
        try FileManager.default.copyItem(atPath: Self.sys + "/bus/w1/devices/28-0316a2795aff/w1_slave", toPath: file.path)
        #expect(await outputs.waitFor { $0.contains { if case .reading = $0 { return true } else { return false } } })
        task.cancel()
        let log = await outputs.items
        guard case .failure(let device, let reason, let detail) = log[0] else { Issue.record("expected a failure first"); return }
        #expect(device == "dev" && reason == .missing)
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
        let t1 = Task { try await slow.run(into: slowLog.sink) }
        let t2 = Task { try await fast.run(into: fastLog.sink) }
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

/// Adapter outputs collected for a test, through a real ReadingSink. Waits are generous: under
/// `swift test`'s parallel load, tests that block threads can hold up the async side for seconds.
actor OutputLog {
    private var collected: [AdapterOutput] = []
    nonisolated let channel = BoundedChannel<AdapterOutput>(capacity: 100_000)
    nonisolated var sink: ReadingSink { ReadingSink(channel) }

    /// Everything the adapter has sent so far.
    var items: [AdapterOutput] {
        collected += channel.take()
        return collected
    }

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
    /// A simulated source running free slows down while the broker is behind, so a flood flows
    /// through memory; real sensors never look at the pressure.
    @Test func simulatedSensorsYieldUnderPressure() async throws {
        let sim = SimulatedAdapter(deviceID: "s", settings: SimulatedSettings(kind: .temperatureReading, interval: .zero, start: 20, step: 0.1,
                                                                               minimum: 10, maximum: 30, rate: 0, seed: 1, failRate: 0),
                                   fallbackSeed: 1)
        let channel = BoundedChannel<AdapterOutput>(capacity: 1_000_000)
        let pressure = Pressure()
        pressure.set(true)
        let task = Task { try await sim.run(into: ReadingSink(channel, pressure: pressure)) }
        try await Task.sleep(for: .milliseconds(300))
        let paced = channel.take().count
        pressure.set(false)
        try await Task.sleep(for: .milliseconds(300))
        let free = channel.take().count
        task.cancel()
        #expect(paced <= 40, "\(paced) readings in 300 ms under pressure")
        #expect(free > 10 * max(paced, 1), "\(free) readings in 300 ms without")
    }
}
