// The `serial` adapter: a port in raw mode at the configured baud, data bits, parity and stop
// bits; lines framed by LineFramer and decoded with the profile (`regex` or `json`). A port
// that vanishes (USB unplugged: open fails, or read fails with EIO) is reopened with a backoff
// from 0.5 s to 30 s, and the device recovers by itself.
//
// The port is read by a blocking poll() loop on the device's own thread (BlockingDevice); the
// loop also polls the stop signal, so cancelling the device ends it at once.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SensorgateCore
import SensorgateRuntime

public struct SerialAdapter: DeviceAdapter {
    public let deviceID: String
    private let settings: SerialSettings
    private let decoder: DeviceDecoder

    public init(deviceID: String, settings: SerialSettings, spec: ReadingSpec) throws {
        try self.init(deviceID: deviceID, settings: settings, channels: [ChannelConfig(spec: spec)])
    }

    /// A device with several channels: each reads its own field or pattern from every line.
    public init(deviceID: String, settings: SerialSettings, channels: [ChannelConfig]) throws {
        self.deviceID = deviceID
        self.settings = settings
        self.decoder = try DeviceDecoder(channels: channels)
    }

    /// What one framed item becomes (the first reading, for a line several channels read).
    public func decode(_ item: LineFramer.Item) -> AdapterOutput? { decodeAll(item).first }

    /// What one framed item becomes: a reading per channel, or a failure.
    public func decodeAll(_ item: LineFramer.Item) -> [AdapterOutput] {
        switch item {
        case .line(let text):
            return AdapterOutput.from(decoder.decode(text), deviceID: deviceID)
        case .overlong(let length):
            return [.failure(deviceID: deviceID, reason: .lineTooLong,
                             detail: "\(settings.port): a line of \(length) bytes is over max_line_length \(settings.maxLineLength); skipped")]
        case .garbage(let length):
            return [.failure(deviceID: deviceID, reason: .garbage,
                             detail: "\(settings.port): \(length) bytes that are not text (wrong baud rate or line noise?); skipped")]
        }
    }

    public func run(into sink: ReadingSink) async throws {
        try await BlockingDevice.run(name: "serial.\(deviceID)") { stop in
            readLoop(stop: stop) { sink.sendBlocking($0, stop: stop) }
        }
    }

    /// Opens, reads and reopens until `stop` is set. Blocking: runs on the device's thread.
    func readLoop(stop: StopSignal, output: (AdapterOutput) -> Void) {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: deviceID.hashValue))
        var outage = false
        let port = settings.port
        while !stop.isSet {
            let fd = open(port, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                if !outage {
                    let hint = code == EACCES ? " (add the user to the 'dialout' group)" : code == ENOENT ? " (unplugged?)" : ""
                    output(.failure(deviceID: deviceID, reason: .portUnavailable,
                                    detail: "cannot open \(port): \(String(cString: strerror(code)))\(hint); retrying"))
                    outage = true
                }
                _ = stop.sleep(for: backoff.next(using: &random))
                continue
            }
            let rc = sg_serial_configure(fd, Int32(settings.baud), Int32(settings.dataBits),
                                         settings.parity == .none ? 0 : settings.parity == .even ? 1 : 2, Int32(settings.stopBits))
            if rc != 0 {
                close(fd)
                if !outage {
                    output(.failure(deviceID: deviceID, reason: .portError,
                                    detail: "cannot set \(port) to \(settings.baud) baud: \(String(cString: strerror(-rc)))"))
                }
                outage = true
                _ = stop.sleep(for: backoff.next(using: &random))
                continue
            }
            outage = false
            backoff.reset()
            var framer = LineFramer(maxLength: settings.maxLineLength)
            var buffer = [UInt8](repeating: 0, count: 4096)
            reading: while !stop.isSet {
                let ready = Wakeup.poll([fd, stop.wakeup.fd], timeout: nil)
                if stop.isSet { break }
                if ready[0] == 0 { continue }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    for item in framer.feed(buffer[0..<n]) { for o in decodeAll(item) { output(o) } }
                    continue
                }
                if n < 0, errno == EAGAIN || errno == EINTR { continue }
                // EIO (a USB adapter pulled out, a pty whose other end closed) or end of file.
                let why = n < 0 ? String(cString: strerror(errno)) : "end of file"
                output(.failure(deviceID: deviceID, reason: .portLost, detail: "\(port): \(why) (unplugged?); reopening"))
                outage = true
                break reading
            }
            close(fd)
            if outage { _ = stop.sleep(for: backoff.next(using: &random)) }
        }
    }
}
