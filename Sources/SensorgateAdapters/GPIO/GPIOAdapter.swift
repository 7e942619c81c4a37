// The `gpio` adapter on the GPIO character device, uAPI v2: one line requested with edge
// detection on both edges and realtime timestamps (bias as configured, the kernel's debounce
// when the driver has it), its gpio_v2_line_event records read and turned into MotionDetected by
// the profile (`edge`, `active_low`), with software debounce when the kernel cannot. A contact
// profile (ContactChanged) makes every edge an event: the line's new level is open or closed.
//
// The ioctl path is kept to GPIOChip.requestInput; everything above it reads from any fd, which
// is how it is tested: recorded records through a pipe.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SensorgateCore
import SensorgateRuntime

public struct GPIOAdapter: DeviceAdapter {
    /// An open line: the fd to read events from, whether the kernel debounces it, and whether
    /// it is a recording (a FIFO or file of records) rather than the kernel's line fd.
    public struct OpenLine: Sendable {
        public var fd: Int32
        public var kernelDebounce: Bool
        public var isRecording: Bool
        /// The line's physical level when it was requested (high: true), when the kernel said;
        /// a contact reports it at once instead of waiting for its first edge.
        public var level: Bool?
        public init(fd: Int32, kernelDebounce: Bool, isRecording: Bool = false, level: Bool? = nil) {
            self.fd = fd
            self.kernelDebounce = kernelDebounce
            self.isRecording = isRecording
            self.level = level
        }
    }

    public let deviceID: String
    private let settings: GPIOSettings
    private let decoder: DeviceDecoder
    private let openLine: @Sendable () throws -> OpenLine

    /// `openLine` defaults to requesting the line from the kernel.
    public init(deviceID: String, settings: GPIOSettings, spec: ReadingSpec,
                openLine: (@Sendable () throws -> OpenLine)? = nil) throws {
        self.deviceID = deviceID
        self.settings = settings
        self.decoder = try DeviceDecoder(spec: spec)
        self.openLine = openLine ?? { try GPIOChip.requestInput(settings, consumer: "sensorgate-\(deviceID)") }
    }

    /// Opens the line (throws when the chip or line is missing or busy: the gateway retries
    /// with a backoff, as it does for a missing sysfs file) and reads it until cancelled.
    public func run(into sink: ReadingSink) async throws {
        try await BlockingDevice.run(name: "gpio.\(deviceID)") { stop in
            // On the device's thread: opening a recording FIFO waits for its writer.
            let line = try openLine()
            if let level = line.level, decoder.channels.first?.config.event == .contactChanged {
                // The contact's state now: as if its last edge had brought the line to this level.
                for output in AdapterOutput.from(decoder.decode(edge: level ? .rising : .falling), deviceID: deviceID) {
                    sink.sendBlocking(output, stop: stop)
                }
            }
            let ended = readLoop(line, stop: stop) { sink.sendBlocking($0, stop: stop) }
            close(line.fd)
            // A recording that has been played to its end has nothing more to say: stay quiet
            // until stopped, rather than be restarted and played again.
            if ended, line.isRecording { while stop.sleep(for: .seconds(3600)) {} }
        }
    }

    /// Reads records until `stop`, an error or end of file; true at end of file. Blocking: runs
    /// on the device's thread.
    func readLoop(_ line: OpenLine, stop: StopSignal, output: (AdapterOutput) -> Void) -> Bool {
        let size = GPIOLineEvent.size
        var debouncer = line.kernelDebounce || settings.debounce == .zero ? nil : EdgeDebouncer(period: settings.debounce)
        var buffer = [UInt8](repeating: 0, count: size * 16)
        var pending: [UInt8] = []
        var lastLineSeqno: UInt32? = nil
        while !stop.isSet {
            let ready = Wakeup.poll([line.fd, stop.wakeup.fd], timeout: nil)
            if stop.isSet { break }
            if ready[0] == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(line.fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EAGAIN || errno == EINTR { continue }
            if n <= 0 {
                if n < 0 {
                    output(.failure(deviceID: deviceID, reason: .readError,
                                    detail: "\(settings.chip) line \(settings.line): \(String(cString: strerror(errno)))"))
                    return false
                }
                return true
            }
            pending += buffer[0..<n]
            while pending.count >= size {
                let record = pending.prefix(size)
                pending.removeFirst(size)
                guard let event = GPIOLineEvent(record: record) else {
                    output(.failure(deviceID: deviceID, reason: .malformed, detail: "\(settings.chip) line \(settings.line): an event record with an unknown id"))
                    continue
                }
                // The kernel numbers events per line; a jump means its buffer overflowed.
                if let last = lastLineSeqno, event.lineSeqno > last &+ 1 {
                    output(.failure(deviceID: deviceID, reason: .eventsLost,
                                    detail: "\(settings.chip) line \(settings.line): the kernel dropped \(event.lineSeqno - last - 1) edge(s) (events arrived faster than they were read)"))
                }
                lastLineSeqno = event.lineSeqno
                if var d = debouncer {
                    let accepted = d.accept(event)
                    debouncer = d
                    if !accepted { continue }
                }
                for o in AdapterOutput.from(decoder.decode(edge: event.edge), deviceID: deviceID, time: event.time) { output(o) }
            }
        }
        return false
    }
}

/// The thin ioctl layer: open /dev/gpiochipN, request one line. Errors say what to do.
public enum GPIOChip {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    static func openChip(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case EACCES, EPERM:
                throw Failure(description: "permission denied on \(path): add the user to the 'gpio' group (sudo usermod -aG gpio $USER) and log in again")
            case ENOENT:
                throw Failure(description: "\(path) does not exist: this kernel has no GPIO chip by that name (see `sensorgate discover`)")
            default:
                throw Failure(description: "cannot open \(path): \(String(cString: strerror(code)))")
            }
        }
        return fd
    }

    /// Both edges (the profile picks), realtime timestamps, bias, and the kernel's debounce when
    /// the driver supports it (EINVAL otherwise: then the line is requested without it).
    /// A `chip` that is a FIFO or a regular file instead of a character device is read as a
    /// recording of gpio_v2_line_event records (tests, demos, replaying a capture).
    public static func requestInput(_ settings: GPIOSettings, consumer: String) throws -> GPIOAdapter.OpenLine {
        var info = stat()
        if stat(settings.chip, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO || (info.st_mode & S_IFMT) == S_IFREG {
            let fd = open(settings.chip, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(description: "cannot open the recording \(settings.chip): \(String(cString: strerror(errno)))") }
            return .init(fd: fd, kernelDebounce: false, isRecording: true)
        }
        let chip = try openChip(settings.chip)
        defer { close(chip) }
        let bias: Int32 = switch settings.bias { case .none: 0; case .pullUp: 1; case .pullDown: 2; case .disabled: 3 }
        let debounce = UInt32(clamping: settings.debounce.milliseconds * 1000)
        var fd = sg_gpio_request_input(chip, UInt32(settings.line), 3, 0, bias, debounce, consumer)
        var kernelDebounce = debounce > 0
        if fd == -EINVAL, debounce > 0 {
            fd = sg_gpio_request_input(chip, UInt32(settings.line), 3, 0, bias, 0, consumer)
            kernelDebounce = false
        }
        guard fd >= 0 else { throw lineFailure(settings.chip, settings.line, -fd) }
        let value = sg_gpio_get_value(fd)
        return .init(fd: fd, kernelDebounce: kernelDebounce, level: value >= 0 ? value == 1 : nil)
    }

    static func lineFailure(_ chip: String, _ line: Int, _ code: Int32) -> Failure {
        switch code {
        case EBUSY: return Failure(description: "\(chip) line \(line) is in use by another program or driver (see gpioinfo)")
        case EINVAL: return Failure(description: "\(chip) has no line \(line), or it cannot be configured this way")
        case EACCES, EPERM: return Failure(description: "permission denied on \(chip) line \(line): add the user to the 'gpio' group")
        default: return Failure(description: "cannot request \(chip) line \(line): \(String(cString: strerror(code)))")
        }
    }
}

/// An output line for a thermostat's `gpio` actuator, held for the life of the gateway.
public final class GPIOOutputLine {
    private let fd: Int32
    public let chip: String
    public let line: Int

    /// Requests the line as an output, initially inactive (off). `activeLow` inverts it in the kernel.
    public init(chip: String, line: Int, activeLow: Bool, consumer: String) throws {
        let chipFD = try GPIOChip.openChip(chip)
        defer { close(chipFD) }
        let fd = sg_gpio_request_output(chipFD, UInt32(line), activeLow ? 1 : 0, 0, consumer)
        guard fd >= 0 else { throw GPIOChip.lineFailure(chip, line, -fd) }
        self.fd = fd
        self.chip = chip
        self.line = line
    }

    public func set(_ active: Bool) throws {
        let rc = sg_gpio_set_value(fd, active ? 1 : 0)
        guard rc == 0 else { throw GPIOChip.Failure(description: "cannot set \(chip) line \(line): \(String(cString: strerror(-rc)))") }
    }

    deinit { close(fd) }
}
