// The `simulated` adapter: readings from SimulatedSensor on the configured schedule, so the
// gateway, its rules and its error paths run anywhere without hardware.

import SensorgateCore

public struct SimulatedAdapter: DeviceAdapter {
    public let deviceID: String
    private let settings: SimulatedSettings
    private let fallbackSeed: UInt64

    /// `fallbackSeed` is used when the config sets no `seed` (the gateway passes a random one).
    public init(deviceID: String, settings: SimulatedSettings, fallbackSeed: UInt64) {
        self.deviceID = deviceID
        self.settings = settings
        self.fallbackSeed = fallbackSeed
    }

    public func run(into sink: ReadingSink) async throws {
        var sensor = SimulatedSensor(settings: settings, fallbackSeed: fallbackSeed)
        let clock = ContinuousClock()
        var deadline = clock.now
        while !Task.isCancelled {
            let sample: SimulatedSensor.Sample
            if settings.kind == .motionDetected {
                deadline = deadline.advanced(by: sensor.nextMotionDelay())
                try await Task.sleep(until: deadline, clock: clock)
                sample = sensor.nextMotion()
            } else if settings.interval == .zero {
                // Free-running: the pipeline's pace is the only limit (awaiting it is the back-pressure).
                try Task.checkCancellation()
                sample = sensor.nextTemperature()
            } else {
                deadline = deadline.advanced(by: settings.interval)
                try await Task.sleep(until: deadline, clock: clock)
                sample = sensor.nextTemperature()
            }
            switch sample {
            case .temperature(let celsius):
                await sink.send(.reading(Reading(deviceID: deviceID, value: .temperature(celsius: celsius))))
            case .motion:
                await sink.send(.reading(Reading(deviceID: deviceID, value: .motion)))
            case .failure:
                await sink.send(.failure(deviceID: deviceID, reason: .readError,
                                         detail: "simulated read failure (fail_rate \(settings.failRate))"))
            }
            // A simulated source can wait: while the broker is behind, it yields the CPU so a
            // flood flows through memory and the broker, not through the disk.
            if sink.pressure.isHigh { try await Task.sleep(for: .milliseconds(10)) }
            // A slow consumer must not make us fire a burst to catch up.
            if clock.now > deadline.advanced(by: settings.interval) { deadline = clock.now }
        }
    }
}
