// A swift-log handler that writes one line per message to stderr, shaped for where stderr goes:
// a terminal or a file gets `21:06:22.123 warning sim-living: readError: simulated read failure`;
// the systemd journal gets `<4>warning sim-living: …` (the priority prefix journald turns into
// the entry's priority, and no timestamp, since the journal has its own); `--log-format json`
// gets one JSON object per line (with the same prefix under journald, which strips it).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SensorgateCore

public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Where stderr goes, decided once at start.
public struct LogTarget: Sendable, Equatable {
    public var format: LogFormat
    /// stderr is the systemd journal's stream (`JOURNAL_STREAM` names its device and inode).
    public var journal: Bool

    public init(format: LogFormat = .text, journal: Bool = false) {
        self.format = format
        self.journal = journal
    }

    /// `JOURNAL_STREAM` is inherited by children whose stderr may go elsewhere, so it counts
    /// only when it names the file stderr really is (as sd_journal_stream_fd(3) advises).
    public static func detect(format: LogFormat, environment: [String: String] = FileSystem.environment()) -> LogTarget {
        guard let stream = environment["JOURNAL_STREAM"] else { return LogTarget(format: format) }
        let parts = stream.split(separator: ":")
        var st = stat()
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]), fstat(2, &st) == 0 else {
            return LogTarget(format: format)
        }
        return LogTarget(format: format, journal: UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino)
    }

    /// One line per event only for someone watching: at debug, or at info on a terminal. A
    /// daemon at the default level logs what needs attention and a periodic summary.
    public static func echoesEvents(level: Logger.Level, terminal: Bool = isatty(2) != 0) -> Bool {
        level <= .debug || (level <= .info && terminal)
    }
}

public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let target: LogTarget

    public init(label: String, level: Logger.Level, target: LogTarget = LogTarget()) {
        logLevel = level
        self.target = target
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        Console.writeError(LogLine.render(level: event.level, message: "\(event.message)", metadata: all,
                                          time: WallClock.now(), target: target))
    }
}

/// The text of one log record for a target: pure, so tests can check every shape.
public enum LogLine {
    /// syslog(3) priorities, as journald reads them from a `<N>` prefix.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public static func render(level: Logger.Level, message: String, metadata: Logger.Metadata, time: Timestamp,
                              target: LogTarget) -> String {
        let prefix = target.journal ? "<\(priority(level))>" : ""
        switch target.format {
        case .json:
            var w = JSONWriter(capacity: 128 + message.utf8.count)
            w.raw("{\"time\":")
            w.string(time.rfc3339)
            w.raw(",\"level\":")
            w.string(level.rawValue)
            w.raw(",\"message\":")
            w.string(message)
            if !metadata.isEmpty {
                w.raw(",\"metadata\":")
                json(.dictionary(metadata), into: &w)
            }
            w.raw("}\n")
            return prefix + w.string
        case .text:
            var line = "\(level) \(message)"
            // Metadata the sentence already says (the device, the broker) is not repeated.
            for key in metadata.keys.sorted() {
                let value = "\(metadata[key]!)"
                if !message.contains(value) { line += " \(key)=\(value)" }
            }
            guard target.journal else { return "\(WallClock.localTimeOfDay(time)) \(line)\n" }
            // Each line of the stream is its own journal entry: every one gets the priority.
            return line.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { "\(prefix)\($0.offset == 0 ? "" : "  ")\($0.element)\n" }.joined()
        }
    }

    private static func json(_ value: Logger.MetadataValue, into w: inout JSONWriter) {
        switch value {
        case .string(let s): w.string(s)
        case .stringConvertible(let c): w.string(c.description)
        case .array(let items):
            w.raw("[")
            for (i, item) in items.enumerated() {
                if i > 0 { w.raw(",") }
                json(item, into: &w)
            }
            w.raw("]")
        case .dictionary(let entries):
            w.raw("{")
            for (i, key) in entries.keys.sorted().enumerated() {
                if i > 0 { w.raw(",") }
                w.string(key)
                w.raw(":")
                json(entries[key]!, into: &w)
            }
            w.raw("}")
        }
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
