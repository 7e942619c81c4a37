import Testing
import SensorgateCore
@testable import SensorgateAdapters

@Suite struct SimulatedSensorTests {
    func settings(kind: EventType = .temperatureReading, seed: UInt64? = 1, failRate: Double = 0, rate: Double = 0.5) -> SimulatedSettings {
        SimulatedSettings(kind: kind, interval: .milliseconds(10), start: 20, step: 0.5, minimum: 18, maximum: 22,
                          rate: rate, seed: seed, failRate: failRate)
    }

    @Test func sameSeedSameReadings() {
        var a = SimulatedSensor(settings: settings(seed: 42), fallbackSeed: 0)
        var b = SimulatedSensor(settings: settings(seed: 42), fallbackSeed: 99)
        let first = (0..<100).map { _ in a.nextTemperature() }
        #expect(first == (0..<100).map { _ in b.nextTemperature() })
        var c = SimulatedSensor(settings: settings(seed: 43), fallbackSeed: 0)
        #expect(first != (0..<100).map { _ in c.nextTemperature() })
    }

    @Test func walkStaysInBoundsAndMovesByAtMostOneStep() {
        var sensor = SimulatedSensor(settings: settings(), fallbackSeed: 0)
        var previous = 20.0
        for _ in 0..<10_000 {
            guard case .temperature(let t) = sensor.nextTemperature() else { Issue.record("no failures expected"); return }
            #expect((18...22).contains(t))
            #expect(abs(t - previous) <= 0.5 + 1e-9)
            previous = t
        }
    }

    @Test func failRateIsHonoured() {
        var sensor = SimulatedSensor(settings: settings(failRate: 0.1), fallbackSeed: 0)
        let failures = (0..<20_000).filter { _ in sensor.nextTemperature() == .failure }.count
        #expect((1600...2400).contains(failures))
    }

    @Test func motionArrivalsArePoissonWithTheConfiguredRate() {
        var sensor = SimulatedSensor(settings: settings(kind: .motionDetected, rate: 0.5), fallbackSeed: 0)
        let delays = (0..<20_000).map { _ in sensor.nextMotionDelay().secondsDouble }
        let mean = delays.reduce(0, +) / Double(delays.count)
        #expect(abs(mean - 2.0) < 0.1)  // mean gap 1/rate
        // Exponential: about 1/e of the gaps are longer than the mean.
        let longer = Double(delays.filter { $0 > 2.0 }.count) / Double(delays.count)
        #expect(abs(longer - 0.3679) < 0.02)
    }
}

@Suite struct SimulatedAdapterTests {
    @Test func emitsReadingsAndFailuresUntilCancelled() async throws {
        let settings = SimulatedSettings(kind: .temperatureReading, interval: .milliseconds(5), start: 20, step: 0.1, minimum: 10,
                                         maximum: 30, rate: 1, seed: 3, failRate: 0.3)
        let adapter = SimulatedAdapter(deviceID: "sim", settings: settings, fallbackSeed: 0)
        let log = OutputLog()
        let task = Task { try await adapter.run(into: log.sink) }
        #expect(await log.waitFor { $0.count >= 40 })
        task.cancel()
        _ = await task.result
        let outputs = await log.items
        let readings = outputs.filter { if case .reading = $0 { return true } else { return false } }
        let failures = outputs.filter { if case .failure(_, .readError, _) = $0 { return true } else { return false } }
        #expect(readings.count + failures.count == outputs.count)
        #expect(!failures.isEmpty && !readings.isEmpty)
        #expect(readings.allSatisfy { if case .reading(let r) = $0 { return r.deviceID == "sim" } else { return false } })
    }
}
