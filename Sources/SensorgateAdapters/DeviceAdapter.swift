// What every adapter does: read one device and hand its readings and failures to the gateway.

import SensorgateCore
import SensorgateRuntime
import Synchronization

/// A device's reading, before the gateway gives it an id, a seq and a time. Several channels of
/// one device send one reading each, told apart by the value's type.
public struct Reading: Sendable, Equatable {
    public typealias Value = ReadingValue

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
    /// A read that produced no reading, counted under the device by reason.
    case failure(deviceID: String, reason: FailureReason, detail: String)

    /// Maps a parser's outcome for `deviceID` to what the gateway receives; nil for `idle`.
    public static func from(_ outcome: ReadingOutcome, deviceID: String, time: Timestamp? = nil) -> AdapterOutput? {
        if let value = outcome.readingValue { return .reading(Reading(deviceID: deviceID, value: value, time: time)) }
        if outcome == .idle { return nil }
        return .failure(deviceID: deviceID, reason: outcome.failureReason ?? .malformed, detail: outcome.detail)
    }

    /// Every channel's outcome of one input.
    public static func from(_ outcomes: [ReadingOutcome], deviceID: String, time: Timestamp? = nil) -> [AdapterOutput] {
        outcomes.compactMap { from($0, deviceID: deviceID, time: time) }
    }

    public var deviceID: String {
        switch self {
        case .reading(let r): return r.deviceID
        case .failure(let id, _, _): return id
        }
    }
}

/// Where adapters put their outputs: the pipeline's bounded inbox. `send` suspends while it is
/// full (back-pressure); adapters reading on a thread of their own use `sendBlocking`.
public struct ReadingSink: Sendable {
    public let channel: BoundedChannel<AdapterOutput>
    /// Set while the broker cannot keep up; sources that can wait (simulated ones) slow down.
    public let pressure: Pressure

    public init(_ channel: BoundedChannel<AdapterOutput>, pressure: Pressure = Pressure()) {
        self.channel = channel
        self.pressure = pressure
    }

    public func send(_ output: AdapterOutput) async { await channel.send(output) }

    /// From a device's own thread: waits while the inbox is full. False when stopped meanwhile.
    @discardableResult
    public func sendBlocking(_ output: AdapterOutput, stop: StopSignal) -> Bool { channel.sendBlocking(output, stop: stop) }
}

/// "The broker is behind": set by the forwarder, read by sources that can wait.
public final class Pressure: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public var isHigh: Bool { value.load(ordering: .relaxed) }
    public func set(_ high: Bool) { value.store(high, ordering: .relaxed) }
}

public protocol DeviceAdapter: Sendable {
    var deviceID: String { get }
    /// Reads until the task is cancelled. Problems of the device itself (a file gone, a port
    /// unplugged) are sent as failures and retried; a thrown error, or returning, means the
    /// adapter stopped: the gateway restarts it with a backoff.
    func run(into sink: ReadingSink) async throws
}

/// Runs a device loop that blocks (reads a file, a serial port, a GPIO line) on a thread of its
/// own; cancelling the calling task sets `stop`, which the loop polls beside its fds.
enum BlockingDevice {
    /// Errors the loop throws (a device that cannot be opened) are rethrown here.
    static func run(name: String, _ loop: @escaping @Sendable (StopSignal) throws -> Void) async throws {
        let stop = StopSignal()
        let result = try await withTaskCancellationHandler {
            try await OwnedThread.run(name: name) { () -> Result<Void, any Error> in Result { try loop(stop) } }
        } onCancel: {
            stop.set()
        }
        try Task.checkCancellation()
        try result.get()
    }
}
