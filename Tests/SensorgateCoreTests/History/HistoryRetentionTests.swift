import Testing
import SensorgateCore

/// Which rows the history lets go, from the oldest seq up.
@Suite struct HistoryRetentionTests {
    typealias Row = HistoryRetention.Row
    static let day: Int64 = 86_400_000

    static func rows(_ seqs: ClosedRange<UInt64>, size: Int64 = 100, time: (UInt64) -> Int64) -> [Row] {
        seqs.map { Row(seq: $0, time: time($0), size: size) }
    }

    @Test(arguments: [
        // (total bytes, max bytes, now, expected cut through, rows)
        (1_000, 1_000, nil, nil, 0),          // at the limit: nothing
        (1_050, 1_000, nil, 1, 1),            // one row over by 50 bytes: the oldest goes
        (1_300, 1_000, nil, 3, 3),
        (500, 1_000, 9 * day + 1, 2, 2),      // rows 1 and 2 are older than 7 days
        (500, 1_000, 8 * day, nil, 0),        // exactly 7 days old stays
        (1_300, 1_000, 9 * day + 1, 3, 3),    // both bounds: whichever removes more
    ] as [(Int64, Int64, Int64?, UInt64?, Int)])
    func cutsByBytesAndAge(total: Int64, max: Int64, now: Int64?, through: UInt64?, count: Int) {
        let policy = HistoryRetention(keepMilliseconds: 7 * Self.day, maxBytes: max)
        let oldest = Self.rows(1...10) { Int64($0) * Self.day }
        let cut = policy.cut(oldest: oldest, totalBytes: total, now: now)
        #expect(cut?.throughSeq == through)
        #expect(cut?.rows ?? 0 == count)
        #expect(cut?.bytes ?? 0 == Int64(count) * 100)
    }

    @Test func withoutASynchronizedClockOnlyBytesCount() {
        let policy = HistoryRetention(keepMilliseconds: 1, maxBytes: 1 << 30)
        let oldest = Self.rows(1...10) { _ in 0 }
        #expect(policy.cut(oldest: oldest, totalBytes: 1_000, now: nil) == nil)
        #expect(!policy.isDue(totalBytes: 1_000, oldestTime: 0, now: nil))
        #expect(policy.isDue(totalBytes: 1_000, oldestTime: 0, now: 10))
    }

    @Test func aRowOutOfTimeOrderWaitsBehindAYoungerOne() {
        // seq 2 is young (a clock that jumped), seq 3 old again: only seq 1 goes now.
        let policy = HistoryRetention(keepMilliseconds: 1_000, maxBytes: 1 << 30)
        let oldest = [Row(seq: 1, time: 0, size: 10), Row(seq: 2, time: 50_000, size: 10), Row(seq: 3, time: 0, size: 10)]
        #expect(policy.cut(oldest: oldest, totalBytes: 30, now: 10_000) == .init(throughSeq: 1, rows: 1, bytes: 10))
    }

    @Test func oneCommitPrunesAtMostTheBatch() {
        var policy = HistoryRetention(keepMilliseconds: 1, maxBytes: 0)
        policy.batchLimit = 5
        let cut = policy.cut(oldest: Self.rows(1...10) { _ in 0 }, totalBytes: 1_000, now: nil)
        #expect(cut == .init(throughSeq: 5, rows: 5, bytes: 500))
    }

    @Test func isDueOnlyWhenSomethingCanGo() {
        let policy = HistoryRetention(keepMilliseconds: 1_000, maxBytes: 100)
        #expect(!policy.isDue(totalBytes: 100, oldestTime: 5_000, now: 5_500))
        #expect(policy.isDue(totalBytes: 101, oldestTime: 5_000, now: 5_500))
        #expect(policy.isDue(totalBytes: 10, oldestTime: 4_000, now: 5_500))
        #expect(!policy.isDue(totalBytes: 10, oldestTime: nil, now: 5_500))
    }
}
