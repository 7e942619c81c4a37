// One `struct gpio_v2_line_event` (48 bytes, <linux/gpio.h>) as read from a line fd:
//   u64 timestamp_ns; u32 id (1 = rising, 2 = falling); u32 offset; u32 seqno; u32 line_seqno;
//   u32 padding[6]
// The layout comes from the kernel header through the CLinux shim, never from Swift guesses.

import CLinux
import SensorgateCore

public struct GPIOLineEvent: Sendable, Equatable {
    public var timestampNanoseconds: UInt64
    public var edge: LineEdge
    public var offset: UInt32
    public var seqno: UInt32
    public var lineSeqno: UInt32

    public init(timestampNanoseconds: UInt64, edge: LineEdge, offset: UInt32, seqno: UInt32, lineSeqno: UInt32) {
        self.timestampNanoseconds = timestampNanoseconds
        self.edge = edge
        self.offset = offset
        self.seqno = seqno
        self.lineSeqno = lineSeqno
    }

    public static var size: Int { sg_gpio_event_size() }

    /// Decodes a record; nil when it is short or its id is neither edge.
    public init?<Bytes: Collection>(record: Bytes) where Bytes.Element == UInt8 {
        let bytes = Array(record)
        var ts: UInt64 = 0
        var id: UInt32 = 0, offset: UInt32 = 0, seqno: UInt32 = 0, lineSeqno: UInt32 = 0
        let rc = bytes.withUnsafeBytes { sg_gpio_decode_event($0.baseAddress, $0.count, &ts, &id, &offset, &seqno, &lineSeqno) }
        guard rc == 0, id == 1 || id == 2 else { return nil }
        self.init(timestampNanoseconds: ts, edge: id == 1 ? .rising : .falling, offset: offset, seqno: seqno, lineSeqno: lineSeqno)
    }

    /// The kernel's record for this event (recordings and tests).
    public var record: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        _ = bytes.withUnsafeMutableBytes {
            sg_gpio_encode_event($0.baseAddress, timestampNanoseconds, edge == .rising ? 1 : 2, offset, seqno, lineSeqno)
        }
        return bytes
    }

    /// CLOCK_REALTIME timestamps (the line is requested with GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME).
    public var time: Timestamp { Timestamp(millisecondsSinceEpoch: Int64(timestampNanoseconds / 1_000_000)) }
}
