// The pure half of a simulated device: a bounded random walk for temperature and a Poisson
// process for motion, deterministic for a given seed, with injected read failures.

import SensorgateCore

public struct SimulatedSensor: Sendable {
    public enum Sample: Sendable, Equatable {
        case temperature(Double)
        case motion
        case failure
    }

    public let settings: SimulatedSettings
    private var random: SplitMix64
    private var value: Double

    public init(settings: SimulatedSettings, fallbackSeed: UInt64) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed ?? fallbackSeed)
        value = settings.start
    }

    /// The next temperature: one step of the walk, reflected at the bounds.
    public mutating func nextTemperature() -> Sample {
        let failed = settings.failRate > 0 && random.unit() < settings.failRate
        var next = value + (random.unit() * 2 - 1) * settings.step
        if next > settings.maximum { next = 2 * settings.maximum - next }
        if next < settings.minimum { next = 2 * settings.minimum - next }
        value = min(settings.maximum, max(settings.minimum, next))
        return failed ? .failure : .temperature(roundedCelsius(value))
    }

    /// Time until the next motion event: exponential with mean 1/rate.
    public mutating func nextMotionDelay() -> Duration {
        let u = max(random.unit(), 1e-12)
        let seconds = -log(u) / settings.rate
        return .milliseconds(Int64(min(seconds, 86_400) * 1000))
    }

    /// A motion event, or an injected failure.
    public mutating func nextMotion() -> Sample {
        settings.failRate > 0 && random.unit() < settings.failRate ? .failure : .motion
    }
}

// log() without Foundation: the C library's.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
