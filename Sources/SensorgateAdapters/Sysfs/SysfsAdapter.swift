// The `sysfs` adapter: polls one attribute every `interval` and decodes it with the device's
// profile: thermal zones and hwmon (millidegrees), 1-Wire `w1_slave` (CRC checked) or
// `temperature`, IIO `in_temp_input`, and IIO `in_temp_raw`, which is combined with its
// `in_temp_scale` and `in_temp_offset` siblings as the IIO ABI says: (raw + offset) × scale.
//
// Each device polls on a thread of its own: a 1-Wire conversion blocks read() for up to
// 750 ms, which must stall neither the async side nor the other sensors.

import SensorgateCore
import SensorgateRuntime

public struct SysfsAdapter: DeviceAdapter {
    public let deviceID: String
    public let path: String
    private let interval: Duration
    private let decoder: ReadingDecoder

    public init(deviceID: String, settings: SysfsSettings, spec: ReadingSpec) throws {
        self.deviceID = deviceID
        self.path = settings.path
        self.interval = settings.interval
        self.decoder = try ReadingDecoder(spec: spec)
    }

    /// One read and decode, on the calling thread (blocking).
    public func readOnce() -> AdapterOutput? {
        switch SysfsAdapter.readText(path) {
        case .failure(let failure):
            return .failure(deviceID: deviceID, reason: failure.reason, detail: failure.description)
        case .success(let text):
            return AdapterOutput.from(decoder.decode(text), deviceID: deviceID)
        }
    }

    /// The attribute's text; for an IIO `*_raw` attribute, the scaled value.
    static func readText(_ path: String) -> Result<String, SysfsFile.Failure> {
        guard path.hasSuffix("_raw") else { return SysfsFile.read(path) }
        let base = String(path.dropLast(4))
        let raw: String
        switch SysfsFile.read(path) {
        case .failure(let f): return .failure(f)
        case .success(let text): raw = text
        }
        func number(_ suffix: String, default value: Double) -> Result<Double, SysfsFile.Failure> {
            switch SysfsFile.read(base + suffix) {
            case .failure(.missing): return .success(value)  // optional in the ABI
            case .failure(let f): return .failure(f)
            case .success(let text):
                guard let v = Double(text.filter { !$0.isWhitespace }) else {
                    return .failure(.failed(base + suffix, errno: 0, message: "not a number: \(text.prefix(20))"))
                }
                return .success(v)
            }
        }
        guard let r = Double(raw.filter { !$0.isWhitespace }) else { return .success(raw) }  // the decoder names it
        let offset: Double, scale: Double
        switch number("_offset", default: 0) { case .failure(let f): return .failure(f); case .success(let v): offset = v }
        switch number("_scale", default: 1) { case .failure(let f): return .failure(f); case .success(let v): scale = v }
        return .success(JSONWriter.number((r + offset) * scale))
    }

    public func run(into sink: ReadingSink) async throws {
        try await BlockingDevice.run(name: "sysfs.\(deviceID)") { stop in pollLoop(stop: stop, sink: sink) }
    }

    /// Reads every `interval` (the first read at once) until `stop`. Blocking: the device's thread.
    func pollLoop(stop: StopSignal, sink: ReadingSink) {
        let clock = ContinuousClock()
        var deadline = clock.now
        while !stop.isSet {
            if let output = readOnce() { sink.sendBlocking(output, stop: stop) }
            deadline = deadline.advanced(by: interval)
            if clock.now > deadline { deadline = clock.now }  // a slow read must not cause a burst
            guard stop.sleep(for: deadline - clock.now) else { return }
        }
    }
}
