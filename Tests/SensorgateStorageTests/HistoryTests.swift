import Foundation
import Testing
import SensorgateCore
@testable import SensorgateStorage

/// The event history in buffer.db: written and pruned by the group commits, read by replays.
@Suite struct HistoryTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-history-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    var path: String { dir.appendingPathComponent("buffer.db").path }

    static let day: Int64 = 86_400_000

    func open(keep: Int64 = 7 * day, maxBytes: Int64 = 1 << 30) throws -> OfflineBuffer {
        let buffer = try OfflineBuffer(path: path, maxEvents: 1_000, maxBytes: 1 << 30, onFull: .dropOldest, synchronous: .normal)
        try buffer.setHistory(HistoryRetention(keepMilliseconds: keep, maxBytes: maxBytes))
        return buffer
    }

    static func event(_ seq: UInt64, time: Int64? = nil, subject: String = "cpu", size: Int = 97) -> OutboundEvent {
        OutboundEvent(seq: seq, topic: "sg/gw/TemperatureReading/\(subject)", payload: Array(repeating: 0x61, count: size),
                      time: time ?? Int64(seq) * 1000, type: "TemperatureReading", subject: subject)
    }

    static func events(_ seqs: ClosedRange<UInt64>, subject: String = "cpu") -> [OutboundEvent] { seqs.map { event($0, subject: subject) } }

    @Test func acknowledgedEventsAreKeptAndAStoredRowMovesOver() throws {
        let buffer = try open()
        try buffer.commit(.init(append: Self.events(1...5), delete: []))
        // 1-5 were buffered; their PUBACKs move them; 6-8 came from memory.
        try buffer.commit(.init(append: [], delete: [1, 2, 3, 4, 5], history: Self.events(1...8)))
        let stats = try buffer.stats()
        #expect(stats.events == 0)
        #expect(stats.historyEvents == 8)
        #expect(stats.historyBytes == 8 * Self.event(1).size)
        #expect(stats.historyOldestSeq == 1 && stats.historyNewestSeq == 8)
        #expect(try OfflineBuffer.stats(path: path) == stats)
        let reader = try HistoryReader(path: path)
        let rows = try reader.read(after: 0, through: 100, query: ReplayQuery(fromSeq: 1), limit: 100)
        #expect(rows == Self.events(1...8))
        // Kept twice (a duplicate PUBACK after a reconnect): stored once.
        try buffer.commit(.init(append: [], delete: [], history: Self.events(8...8)))
        #expect(try buffer.stats().historyEvents == 8)
    }

    @Test func maxBytesPrunesTheOldestInTheSameCommit() throws {
        let size = Self.event(1).size
        let buffer = try open(maxBytes: 10 * size)
        for start in stride(from: UInt64(1), through: 91, by: 10) {
            try buffer.commit(.init(append: [], delete: [], history: Self.events(start...(start + 9))))
            #expect(try buffer.stats().historyBytes <= 10 * size)
        }
        let stats = try buffer.stats()
        #expect(stats.historyEvents == 10)
        #expect(stats.historyOldestSeq == 91)
        #expect(stats.historyPruned == 90)
        #expect(try OfflineBuffer.stats(path: path).historyPruned == 90)
    }

    @Test func keepPrunesByAgeOnlyWithASynchronizedClock() throws {
        let buffer = try open(keep: 10_000)
        try buffer.commit(.init(append: [], delete: [], history: Self.events(1...30)), now: nil)
        #expect(try buffer.stats().historyEvents == 30)  // no clock: age does not count
        try buffer.commit(.init(append: [], delete: [], history: [Self.event(31)]), now: 25_500)
        // Rows older than 10 s at 25.5 s: times 1 s to 15 s (seq 1-15).
        #expect(try buffer.stats().historyOldestSeq == 16)
        #expect(try buffer.stats().historyEvents == 16)
        // Nothing new, but time goes on: a commit with nothing else to do still prunes when due.
        try buffer.commit(.init(append: [], delete: [3_000]), now: 40_000)
        #expect(try buffer.stats().historyOldestSeq == 30)
    }

    @Test func aLoweredLimitIsCaughtUpWithInBatches() throws {
        do {
            let buffer = try open()
            try buffer.commit(.init(append: [], delete: [], history: Self.events(1...5_000)))
        }
        let size = Self.event(1).size
        let buffer = try open(maxBytes: 100 * size)
        try buffer.commit(.init(append: [], delete: [], history: [Self.event(5_001)]))
        #expect(try buffer.stats().historyEvents == 5_001 - 2_000)  // one batch per commit
        try buffer.commit(.init(append: [], delete: [], history: [Self.event(5_002)]))
        try buffer.commit(.init(append: [], delete: [], history: [Self.event(5_003)]))
        #expect(try buffer.stats().historyEvents == 100)
    }

    @Test func turningTheHistoryOffDeletesIt() throws {
        let buffer = try open()
        try buffer.commit(.init(append: [], delete: [], history: Self.events(1...10)))
        #expect(try buffer.setHistory(nil) == 10)
        #expect(try buffer.stats().historyEvents == 0)
        #expect(try OfflineBuffer.stats(path: path).historyEvents == 0)
        // Off: commits carry no history (the machine sends none) and none is written.
        try buffer.commit(.init(append: [], delete: [], history: Self.events(11...12)))
        #expect(try buffer.stats().historyEvents == 0)
    }

    @Test func theReaderFiltersAndFindsTimeWindows() throws {
        let buffer = try open()
        try buffer.commit(.init(append: [], delete: [], history: (1...100).map { Self.event($0, subject: $0 % 2 == 0 ? "even" : "odd") }))
        let reader = try HistoryReader(path: path)
        #expect(try reader.bounds() == HistoryBounds(oldest: 1, newest: 100))
        #expect(try reader.oldestTime() == 1000)
        #expect(try reader.span(since: 10_000, until: 20_000) == HistoryTimeSpan(count: 10, first: 10, last: 19))
        #expect(try reader.span(since: 500_000, until: 600_000) == HistoryTimeSpan(count: 0, first: nil, last: nil))
        let even = try reader.read(after: 0, through: 10, query: ReplayQuery(fromSeq: 1, subject: "even"), limit: 100)
        #expect(even.map(\.seq) == [2, 4, 6, 8, 10])
        let window = try reader.read(after: 0, through: 100, query: ReplayQuery(since: 50_000, until: 53_000), limit: 2)
        #expect(window.map(\.seq) == [50, 51])
        #expect(try reader.read(after: 0, through: 100, query: ReplayQuery(fromSeq: 1, type: "MotionDetected"), limit: 10).isEmpty)
    }

    /// A buffer.db from before the history: its rows gain the new columns, and a buffered event
    /// acknowledged later is kept with its time, type and subject read from its JSON.
    @Test func aFileFromBeforeTheHistoryIsUpgraded() throws {
        let db = try SQLiteDatabase(path: path)
        let payload = #"{"specversion":"1.0","type":"MotionDetected","subject":"hall","time":"2026-11-26T18:52:36.123Z","seq":7}"#
        try db.execute("""
            CREATE TABLE events (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL);
            CREATE TABLE dead_letter (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, reason INTEGER NOT NULL);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT INTO events VALUES (7, 'sg/gw/MotionDetected/hall', CAST('\(payload)' AS BLOB));
            INSERT INTO dead_letter VALUES (3, 'sg/gw/MotionDetected/hall', CAST('\(payload)' AS BLOB), 135);
            """)
        let buffer = try open()
        let row = try #require(try buffer.read(after: 0, limit: 10).first)
        #expect(row.seq == 7 && row.type == "")
        try buffer.commit(.init(append: [], delete: [7], history: [row]))
        let kept = try #require(try HistoryReader(path: path).read(after: 0, through: 10, query: ReplayQuery(fromSeq: 1), limit: 10).first)
        #expect(kept.type == "MotionDetected" && kept.subject == "hall")
        #expect(kept.time == Timestamp(rfc3339: "2026-11-26T18:52:36.123Z")!.millisecondsSinceEpoch)
        #expect(try DeadLetters.list(path: path).first?.event.subject == "hall")
    }
}

/// `sensorgate buffer dead-letter`: list, requeue (same seq and bytes), purge.
@Suite struct DeadLettersTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-dead-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    var path: String { dir.appendingPathComponent("buffer.db").path }

    func buffer() throws -> OfflineBuffer {
        try OfflineBuffer(path: path, maxEvents: 1_000, maxBytes: 1 << 30, onFull: .dropOldest, synchronous: .normal)
    }

    @Test func listRequeueAndPurge() throws {
        do {
            let b = try buffer()
            try b.commit(.init(append: HistoryTests.events(1...5), delete: []))
            try b.moveToDeadLetter(HistoryTests.event(2), reason: 0x87, at: 1_000)
            try b.moveToDeadLetter(HistoryTests.event(4), reason: 0x99, at: 2_000)
            try b.commit(.init(append: [], delete: [1, 3, 5]))
        }
        let letters = try DeadLetters.list(path: path)
        #expect(letters.map(\.event.seq) == [2, 4])
        #expect(letters.map(\.reason) == [0x87, 0x99])
        #expect(letters.map(\.at) == [1_000, 2_000])
        #expect(letters[0].event == HistoryTests.event(2))
        #expect(try DeadLetters.list(path: path, seq: 4).map(\.event.seq) == [4])

        #expect(try DeadLetters.requeue(path: path, seq: 2) == 1)
        let stats = try OfflineBuffer.stats(path: path)
        #expect(stats.events == 1 && stats.deadLettered == 1 && stats.oldestSeq == 2 && stats.newestSeq == 2)
        let reopened = try buffer()
        #expect(try reopened.read(after: 0, limit: 10) == [HistoryTests.event(2)])  // same seq, same bytes
        #expect(try DeadLetters.purge(path: path) == 1)
        #expect(try DeadLetters.list(path: path).isEmpty)
        #expect(try DeadLetters.requeue(path: path, seq: 9) == 0)
    }
}
