// The contract tests' tap: with SENSORGATE_EMITTED_EVENTS=FILE in the environment, every event
// this process emits (readings, alerts, thermostat commands, `rules test` output, replays) is
// appended to FILE as one JSON line, so `make test` can validate everything a test run emitted
// against the event schemas. Off (nil) without the variable: one nil check per event.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class EmittedEventLog: Sendable {
    public static let variable = "SENSORGATE_EMITTED_EVENTS"

    /// The log named by the environment, opened once; nil when the variable is not set.
    public static let shared: EmittedEventLog? = {
        guard let path = getenv(variable).map({ String(cString: $0) }), !path.isEmpty else { return nil }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        return fd >= 0 ? EmittedEventLog(fd: fd) : nil
    }()

    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// One line per event, in one write: lines from concurrent processes never interleave.
    public func record(_ payload: [UInt8]) {
        var line = payload
        line.append(0x0A)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
