// The `sysfs` adapter: polls one attribute every `interval` and decodes it with the device's
// profile: thermal zones and hwmon (millidegrees), 1-Wire `w1_slave` (CRC checked) or
// `temperature`, IIO `in_temp_input`, and IIO `in_temp_raw`, which is combined with its
// `in_temp_scale` and `in_temp_offset` siblings as the IIO ABI says: (raw + offset) × scale.
//
// A device with several channels (a BME280: in_temp_input, in_humidityrelative_input,
// in_pressure_input) reads each channel's `file` in the device's `path` directory every
// interval; each channel's reading or failure is its own.
//
// Each device polls on a thread of its own: a 1-Wire conversion blocks read() for up to
// 750 ms, which must stall neither the async side nor the other sensors.

import SensorgateCore
import SensorgateRuntime

public struct SysfsAdapter: DeviceAdapter {
    public let deviceID: String
    public let path: String
    private let interval: Duration
    private let decoder: DeviceDecoder

    public init(deviceID: String, settings: SysfsSettings, spec: ReadingSpec) throws {
        try self.init(deviceID: deviceID, settings: settings, channels: [ChannelConfig(spec: spec)])
    }

    /// A device with several channels: those with a `file` read it in the `path` directory.
    public init(deviceID: String, settings: SysfsSettings, channels: [ChannelConfig]) throws {
        self.deviceID = deviceID
        self.path = settings.path
        self.interval = settings.interval
        self.decoder = try DeviceDecoder(channels: channels)
    }

    /// One read and decode, on the calling thread (blocking); the first output of `readAll`.
    public func readOnce() -> AdapterOutput? { readAll().first }

    /// Every channel read once, on the calling thread (blocking): `path` for the channels that
    /// read the device's own file, then each channel's `file`.
    public func readAll() -> [AdapterOutput] {
        var outputs: [AdapterOutput] = []
        if !decoder.inputChannels.isEmpty {
            switch SysfsAdapter.readText(path) {
            case .failure(let failure):
                outputs.append(.failure(deviceID: deviceID, reason: failure.reason, detail: failure.description))
            case .success(let text):
                outputs += AdapterOutput.from(decoder.decode(text), deviceID: deviceID)
            }
        }
        for channel in decoder.channels {
            guard let file = channel.config.file else { continue }
            switch SysfsAdapter.readText(path + "/" + file) {
            case .failure(let failure):
                outputs.append(.failure(deviceID: deviceID, reason: failure.reason, detail: "\(channel.config.name): \(failure.description)"))
            case .success(let text):
                let outcome = channel.decoder.decode(text)
                if case .failure(let id, let reason, let detail)? = AdapterOutput.from(outcome, deviceID: deviceID) {
                    outputs.append(.failure(deviceID: id, reason: reason, detail: "\(file): \(detail)"))
                } else if let output = AdapterOutput.from(outcome, deviceID: deviceID) {
                    outputs.append(output)
                }
            }
        }
        return outputs
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
            for output in readAll() { sink.sendBlocking(output, stop: stop) }
            deadline = deadline.advanced(by: interval)
            if clock.now > deadline { deadline = clock.now }  // a slow read must not cause a burst
            guard stop.sleep(for: deadline - clock.now) else { return }
        }
    }
}
