// Bytes from a serial port into lines: CR, LF and CRLF all end a line (a CRLF split across two
// reads is still one line end), lines split across reads are joined, a line over the limit is
// reported once and skipped up to its end, and bytes that are not UTF-8 text are reported as
// garbage instead of reaching the parser.

public struct LineFramer: Sendable {
    public enum Item: Sendable, Equatable {
        case line(String)
        /// A line longer than the limit (its length), skipped.
        case overlong(Int)
        /// A line that is not UTF-8 text (line noise, a wrong baud rate), skipped.
        case garbage(Int)
    }

    public let maxLength: Int
    private var current: [UInt8] = []
    private var skipped = 0
    private var lastWasCR = false

    public init(maxLength: Int) {
        self.maxLength = max(1, maxLength)
        current.reserveCapacity(min(maxLength, 4096))
    }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Item] where Bytes.Element == UInt8 {
        var items: [Item] = []
        for byte in bytes {
            if byte == 0x0A, lastWasCR { lastWasCR = false; continue }  // the LF of a CRLF
            lastWasCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let item = endLine() { items.append(item) }
                continue
            }
            if skipped > 0 { skipped += 1; continue }
            if current.count >= maxLength {
                skipped = current.count + 1
                current.removeAll(keepingCapacity: true)
                continue
            }
            current.append(byte)
        }
        return items
    }

    private mutating func endLine() -> Item? {
        defer { current.removeAll(keepingCapacity: true); skipped = 0 }
        if skipped > 0 { return .overlong(skipped) }
        if current.isEmpty { return nil }
        // Text only: valid UTF-8 without NULs or other control characters besides tab.
        guard let text = String(validating: current, as: UTF8.self),
              !current.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) else {
            return .garbage(current.count)
        }
        return .line(text)
    }
}
