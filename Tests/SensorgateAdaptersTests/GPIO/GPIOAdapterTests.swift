import Foundation
import Testing
import SensorgateCore
@testable import SensorgateAdapters

/// The GPIO adapter above the ioctl layer: gpio_v2_line_event records written into a pipe, as
/// the kernel would hand them over on a line fd (this machine's kernel has no GPIO).
@Suite struct GPIOAdapterTests {
    static let pir = ReadingSpec(event: .motionDetected, format: .edge(.rising, activeLow: false))
    static let t0: UInt64 = 1_795_000_000_000_000_000  // 2026-11-18, ns since the epoch

    @Test func recordLayoutMatchesTheKernelUAPI() throws {
        #expect(GPIOLineEvent.size == 48)
        // u64 timestamp_ns, u32 id, u32 offset, u32 seqno, u32 line_seqno, u32 padding[6]; little endian here.
        var bytes: [UInt8] = []
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        le(UInt64(1_764_183_156_123_456_789)); le(UInt32(2)); le(UInt32(17)); le(UInt32(5)); le(UInt32(3))
        bytes += [UInt8](repeating: 0, count: 24)
        let event = try #require(GPIOLineEvent(record: bytes))
        #expect(event == GPIOLineEvent(timestampNanoseconds: 1_764_183_156_123_456_789, edge: .falling, offset: 17, seqno: 5, lineSeqno: 3))
        #expect(event.record == bytes)
        #expect(event.time == Timestamp(rfc3339: "2025-11-26T18:52:36.123Z"))
        #expect(GPIOLineEvent(record: bytes.prefix(40)) == nil)
    }

    /// Writes the events into a pipe and runs the adapter on its read end until they are consumed.
    func replay(_ events: [(UInt64, LineEdge)], spec: ReadingSpec = pir, debounce: Duration = .milliseconds(50),
                kernelDebounce: Bool = false, lineSeqnos: [UInt32]? = nil) async throws -> [AdapterOutput] {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0]
        let adapter = try GPIOAdapter(deviceID: "hall", settings: GPIOSettings(chip: "/dev/gpiochip0", line: 17, debounce: debounce),
                                      spec: spec, openLine: { .init(fd: readEnd, kernelDebounce: kernelDebounce) })
        var bytes: [UInt8] = []
        for (i, (offsetNs, edge)) in events.enumerated() {
            bytes += GPIOLineEvent(timestampNanoseconds: Self.t0 + offsetNs, edge: edge, offset: 17, seqno: UInt32(i + 1),
                                   lineSeqno: lineSeqnos?[i] ?? UInt32(i + 1)).record
        }
        // Split mid-record, as a read may return part of what was written.
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, 70) }
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress! + 70, $0.count - 70) }
        close(fds[1])
        let log = OutputLog()
        try await adapter.run(into: log.sink)  // returns at the end of the pipe (not a recording file)
        return await log.items
    }

    func motionTimes(_ outputs: [AdapterOutput]) -> [Int64] {
        outputs.compactMap {
            if case .reading(let r) = $0, r.value == .motion { return r.time!.millisecondsSinceEpoch - Int64(Self.t0 / 1_000_000) }
            return nil
        }
    }

    @Test func bounceIsSwallowedAndKernelTimestampsKept() async throws {
        let ms: UInt64 = 1_000_000
        let outputs = try await replay([
            (0, .rising), (ms / 5, .falling), (ms / 2, .rising), (3 * ms, .falling), (4 * ms, .rising),  // one press, bouncing
            (2500 * ms, .falling),
            (10_000 * ms, .rising), (12_000 * ms, .falling),
        ])
        #expect(motionTimes(outputs) == [0, 10_000])
        #expect(outputs.count == 2)
    }

    @Test func withoutDebounceEveryRisingEdgeIsMotion() async throws {
        let ms: UInt64 = 1_000_000
        let outputs = try await replay([(0, .rising), (ms, .falling), (2 * ms, .rising)], debounce: .zero)
        #expect(motionTimes(outputs) == [0, 2])
    }

    @Test func kernelDebounceIsTrustedWhenTheDriverHasIt() async throws {
        let ms: UInt64 = 1_000_000
        let outputs = try await replay([(0, .rising), (ms, .falling), (2 * ms, .rising)], kernelDebounce: true)
        #expect(motionTimes(outputs) == [0, 2])
    }

    @Test func activeLowPirMovesOnTheFallingEdge() async throws {
        let spec = ReadingSpec(event: .motionDetected, format: .edge(.rising, activeLow: true))
        let outputs = try await replay([(0, .falling), (3_000_000_000, .rising), (9_000_000_000, .falling)], spec: spec)
        #expect(motionTimes(outputs) == [0, 9000])
    }

    @Test func aGapInTheKernelsSequenceIsCountedAsLostEvents() async throws {
        let outputs = try await replay([(0, .rising), (1_000_000_000, .falling), (2_000_000_000, .rising)],
                                       lineSeqnos: [1, 2, 6])
        let lost = outputs.compactMap { if case .failure(_, let reason, let detail) = $0 { return (reason.rawValue, detail) } else { return nil } }
        #expect(lost.count == 1)
        #expect(lost.first?.0 == "eventsLost")
        #expect(lost.first?.1.contains("dropped 3 edge(s)") == true)
    }

    @Test func chipErrorsSayWhatToDo() throws {
        let missing = #expect(throws: GPIOChip.Failure.self) {
            try GPIOChip.requestInput(GPIOSettings(chip: "/dev/gpiochip99", line: 1), consumer: "t")
        }
        #expect(missing?.description.contains("does not exist") == true)
        // A character device that is not a GPIO chip: the ioctl fails and says which line.
        let notAChip = #expect(throws: GPIOChip.Failure.self) {
            try GPIOChip.requestInput(GPIOSettings(chip: "/dev/null", line: 1), consumer: "t")
        }
        #expect(notAChip?.description.contains("cannot request /dev/null line 1") == true)
    }
}
