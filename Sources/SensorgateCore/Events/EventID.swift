// UUIDv7 event ids (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort
// roughly by creation time and stay unique without coordination.

public struct EventID: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]  // 16

    public init<R: RandomNumberGenerator>(milliseconds: Int64, using generator: inout R) {
        var b = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        let r1 = generator.next(), r2 = generator.next()
        for i in 6..<16 { b[i] = UInt8(truncatingIfNeeded: (i < 14 ? r1 : r2) >> (8 * UInt64(i % 8))) }
        b[6] = 0x70 | (b[6] & 0x0F)   // version 7
        b[8] = 0x80 | (b[8] & 0x3F)   // RFC 9562 variant
        bytes = b
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
        bytes = b
    }

    public var version: Int { Int(bytes[6] >> 4) }

    public var description: String {
        let hex: [Character] = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { s.append("-") }
            s.append(hex[Int(byte >> 4)])
            s.append(hex[Int(byte & 0xF)])
        }
        return s
    }
}
