// UUIDv7 event ids (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort
// roughly by creation time and stay unique without coordination.

public struct EventID: Sendable, Hashable, CustomStringConvertible {
    /// The 16 bytes as two big-endian halves: no allocation per event.
    public let high: UInt64
    public let low: UInt64

    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) }
    }

    public init<R: RandomNumberGenerator>(milliseconds: Int64, using generator: inout R) {
        let ms = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        let random = generator.next()
        // 48 bits of time, version 7, 12 random bits; variant 10, 62 random bits.
        high = ms << 16 | 0x7000 | (random & 0x0FFF)
        low = 0x8000_0000_0000_0000 | (generator.next() & 0x3FFF_FFFF_FFFF_FFFF)
    }

    init(bytes b: [UInt8]) {
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
        high = h
        low = l
    }

    public init?(_ text: String) {
        var b: [UInt8] = []
        var high: UInt8? = nil
        for c in text.utf8 where c != UInt8(ascii: "-") {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if let h = high { b.append(h << 4 | v); high = nil } else { high = v }
        }
        guard b.count == 16, high == nil, text.utf8.count == 36 else { return nil }
        self.init(bytes: b)
    }

    public var version: Int { Int(high >> 12 & 0xF) }

    public var description: String {
        var w = JSONWriter(capacity: 36)
        w.uuid(self)
        return w.string
    }
}
