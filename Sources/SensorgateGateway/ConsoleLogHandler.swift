// A swift-log handler that writes one short line per message to stderr:
// `21:06:22.123 warning sim-living: readError: simulated read failure seq=…`. Event lines (the
// logger labelled `eventLabel`) are printed as they are: they carry their own time and `#seq`,
// and their seq, device and type as metadata for handlers that keep fields.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

public struct ConsoleLogHandler: LogHandler {
    /// The label of the logger the pipeline prints one line per event with.
    public static let eventLabel = "sensorgate.events"

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let events: Bool

    public init(label: String, level: Logger.Level) {
        logLevel = level
        events = label == Self.eventLabel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let message = "\(event.message)"
        if events {
            Console.writeError(message + "\n")
            return
        }
        var line = "\(WallClock.localTimeOfDay(WallClock.now())) \(event.level) \(message)"
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        // Metadata the sentence already says (the device, the broker) is not repeated on a terminal.
        for key in all.keys.sorted() {
            let value = "\(all[key]!)"
            if !message.contains(value) { line += " \(key)=\(value)" }
        }
        Console.writeError(line + "\n")
    }
}

/// Unbuffered writes to stdout and stderr (the C `stdout`/`stderr` globals are not concurrency-safe).
public enum Console {
    public static func writeError(_ text: String) { write(fd: 2, text) }
    public static func writeOutput(_ text: String) { write(fd: 1, text) }

    private static func write(fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
