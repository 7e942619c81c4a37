// Durations (`500ms`, `30s`, `5m`, `2h`, `1d`, or combined: `1h30m`) and sizes (`512KB`, `256MB`,
// `1GB`, plain bytes) as written in configs.

public enum DurationText {
    /// Parses a config duration. Nil when the text is not one.
    public static func parse(_ text: String) -> Duration? {
        let s = Array(text.utf8)
        guard !s.isEmpty else { return nil }
        var i = 0
        var totalMilliseconds: Double = 0
        while i < s.count {
            let start = i
            while i < s.count, (48...57).contains(s[i]) || s[i] == UInt8(ascii: ".") { i += 1 }
            guard i > start, let number = Double(String(decoding: s[start..<i], as: UTF8.self)) else { return nil }
            let unitStart = i
            while i < s.count, (97...122).contains(s[i]) { i += 1 }
            let factor: Double
            switch String(decoding: s[unitStart..<i], as: UTF8.self) {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m", "min": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return nil
            }
            totalMilliseconds += number * factor
        }
        guard totalMilliseconds.isFinite, totalMilliseconds < 1e13 else { return nil }
        return .milliseconds(Int64(totalMilliseconds.rounded()))
    }

    /// The shortest config spelling of a duration: `2h`, `90s`, `1500ms`.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        if ms != 0, ms % 86_400_000 == 0 { return "\(ms / 86_400_000)d" }
        if ms != 0, ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms != 0, ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

extension Duration {
    /// Whole milliseconds (truncated).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

public enum ByteSizeText {
    /// Parses `512KB`, `256MB`, `1GB`, `64KiB`, `100B` or a plain byte count; units are powers of 1024.
    public static func parse(_ text: String) -> Int64? {
        let s = text.trimmingSpaces
        var digitsEnd = s.startIndex
        while digitsEnd < s.endIndex, s[digitsEnd].isASCII, s[digitsEnd].isNumber || s[digitsEnd] == "." {
            digitsEnd = s.index(after: digitsEnd)
        }
        guard digitsEnd > s.startIndex, let number = Double(s[s.startIndex..<digitsEnd]) else { return nil }
        let factor: Double
        switch s[digitsEnd...].trimmingSpaces.uppercased() {
        case "", "B": factor = 1
        case "K", "KB", "KIB": factor = 1024
        case "M", "MB", "MIB": factor = 1024 * 1024
        case "G", "GB", "GIB": factor = 1024 * 1024 * 1024
        default: return nil
        }
        let bytes = number * factor
        guard bytes.isFinite, bytes < 1e18 else { return nil }
        return Int64(bytes.rounded())
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (CR LF is one Character in Swift, and counts).
    public var trimmingSpaces: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// The first occurrence of `needle` (the core has no Foundation to ask).
    func range(of needle: String) -> Range<Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(needle) { return start..<index(start, offsetBy: needle.count) }
            start = index(after: start)
        }
        return nil
    }
}
