import Testing
@testable import SensorgateCore

/// The status page's sparkline data: 30 s means over the last hour, a fixed size however fast
/// readings come, old buckets emptied as time moves on.
@Suite struct ReadingHistoryTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_795_694_400_000)  // a bucket boundary
    static func at(_ seconds: Int64) -> Timestamp { t0.adding(milliseconds: seconds * 1000) }

    @Test func bucketsAreMeansOfTheirReadingsOldestFirst() {
        var h = ReadingHistory()
        h.add(20, at: Self.at(0))
        h.add(22, at: Self.at(10))
        h.add(30, at: Self.at(31))
        let values = h.values(through: ReadingHistory.bucket(of: Self.at(31)))
        #expect(values.count == 120)
        #expect(values.suffix(2) == [21, 30])
        #expect(values.dropLast(2).allSatisfy { $0 == nil })
    }

    @Test func anHourLaterTheOldBucketsAreGoneAndLateReadingsIgnored() {
        var h = ReadingHistory()
        h.add(20, at: Self.at(0))
        h.add(25, at: Self.at(3_600))
        h.add(99, at: Self.at(5))  // older than the hour shown now
        let values = h.values(through: ReadingHistory.bucket(of: Self.at(3_600)))
        #expect(values.compactMap { $0 } == [25])
        // Asked later with nothing new, the window moves on and the value slides left.
        let later = h.values(through: ReadingHistory.bucket(of: Self.at(3_660)))
        #expect(later.suffix(3) == [25, nil, nil])
    }

    @Test func motionCountsEventsPerBucket() {
        var h = ReadingHistory()
        for s: Int64 in [1, 2, 3, 40] { h.add(1, at: Self.at(s)) }
        #expect(h.values(through: ReadingHistory.bucket(of: Self.at(40)), counting: true).suffix(3) == [0, 3, 1])
    }
}
