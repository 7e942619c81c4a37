// Appends JSON text to a byte buffer: the one wire form of events, written by hand because it is
// on the hot path of every event and must not pull Foundation into the core.

public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Bytes that are already JSON text.
    public mutating func raw(bytes text: [UInt8]) { bytes.append(contentsOf: text) }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: most strings (ids, topics, messages) need no escaping and are copied at once.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: value.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(JSONWriter.hexDigit(byte >> 4))
                bytes.append(JSONWriter.hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func number(_ value: Double) { raw(JSONWriter.number(value)) }

    public mutating func number(_ value: UInt64) {
        guard value >= 10 else { bytes.append(UInt8(ascii: "0") + UInt8(value)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, no allocation
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[i]) }
        }
    }

    /// `value` as exactly `width` decimal digits (zero-padded).
    public mutating func digits(_ value: Int64, width: Int) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v / divisor % 10))
            v %= divisor
            divisor /= 10
        }
    }

    /// A UUID in its 8-4-4-4-12 form, without quotes, written in one append.
    public mutating func uuid(_ id: EventID) {
        var text: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)  // 40 bytes of room
        withUnsafeMutableBytes(of: &text) { out in
            var o = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { out[o] = UInt8(ascii: "-"); o += 1 }
                let word = nibble < 16 ? id.high : id.low
                out[o] = JSONWriter.hexDigit(UInt8(truncatingIfNeeded: word >> (60 - 4 * UInt64(nibble % 16)) & 0xF))
                o += 1
            }
            bytes.append(contentsOf: out.prefix(36))
        }
    }

    /// `2026-11-26T18:52:36.123Z`, without quotes.
    public mutating func rfc3339(_ t: Timestamp) {
        let ms = t.millisecondsSinceEpoch
        let days = Timestamp.floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = Timestamp.civil(fromDays: days)
        digits(y, width: 4); bytes.append(UInt8(ascii: "-"))
        digits(m, width: 2); bytes.append(UInt8(ascii: "-"))
        digits(d, width: 2); bytes.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, width: 2); bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, width: 2); bytes.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, width: 2); bytes.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, width: 3); bytes.append(UInt8(ascii: "Z"))
    }

    public mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let items):
            raw("[")
            for (i, item) in items.enumerated() {
                if i > 0 { raw(",") }
                self.value(item)
            }
            raw("]")
        case .object(let members):
            raw("{")
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { raw(",") }
                string(key)
                raw(":")
                self.value(members[key]!)
            }
            raw("}")
        }
    }

    /// Integers without a fraction ("21" not "21.0"); non-finite values, which JSON cannot
    /// carry, as null.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
