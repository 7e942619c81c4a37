// What every adapter does: read one device and hand its readings and failures to the gateway.

import SensorgateCore

/// A device's reading, before the gateway gives it an id, a seq and a time.
public struct Reading: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case temperature(celsius: Double)
        case motion
    }

    public var deviceID: String
    public var value: Value
    /// When the sensor saw it, if the source says (GPIO kernel timestamps); else the gateway stamps it.
    public var time: Timestamp?

    public init(deviceID: String, value: Value, time: Timestamp? = nil) {
        self.deviceID = deviceID
        self.value = value
        self.time = time
    }
}

public enum AdapterOutput: Sendable, Equatable {
    case reading(Reading)
    /// A read that produced no reading; `reason` is the counter name (crcFailed, outOfRange, readError, …).
    case failure(deviceID: String, reason: String, detail: String)

    /// Maps a parser's outcome for `deviceID` to what the gateway receives; nil for `idle`.
    public static func from(_ outcome: ReadingOutcome, deviceID: String, time: Timestamp? = nil) -> AdapterOutput? {
        switch outcome {
        case .reading(let celsius): return .reading(Reading(deviceID: deviceID, value: .temperature(celsius: celsius), time: time))
        case .motion: return .reading(Reading(deviceID: deviceID, value: .motion, time: time))
        case .idle: return nil
        default: return .failure(deviceID: deviceID, reason: outcome.failureReason ?? "malformed", detail: outcome.detail)
        }
    }
}

public protocol DeviceAdapter: Sendable {
    var deviceID: String { get }
    /// True when the source can wait without losing anything (a simulated sensor): the gateway
    /// then slows it while the broker catches up. Real sensors are never slowed.
    var canBePaced: Bool { get }
    /// Reads until the task is cancelled. Errors of the device itself are reported through
    /// `emit` as failures and retried; a thrown error means the adapter cannot run at all.
    func run(emit: @escaping @Sendable (AdapterOutput) async -> Void) async throws
}

extension DeviceAdapter {
    public var canBePaced: Bool { false }
}
