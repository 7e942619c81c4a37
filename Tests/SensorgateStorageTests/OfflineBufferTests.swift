import Foundation
import Testing
import SensorgateCore
@testable import SensorgateStorage

extension OfflineBuffer {
    /// One commit as the forwarder makes it; returns how many events were dropped.
    @discardableResult
    func commit(appending entries: [Entry], deleting acknowledged: [UInt64] = [], nextSeq: UInt64? = nil) throws -> Int {
        try commit(.init(append: entries, delete: acknowledged, nextSeq: nextSeq)).dropped
    }
}

/// The offline buffer on real SQLite files.
@Suite struct OfflineBufferTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-buffer-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    var path: String { dir.appendingPathComponent("buffer.db").path }

    func open(maxEvents: Int = 1000, maxBytes: Int64 = 1 << 30, onFull: BufferSettings.OnFull = .dropOldest) throws -> OfflineBuffer {
        try OfflineBuffer(path: path, maxEvents: maxEvents, maxBytes: maxBytes, onFull: onFull, synchronous: .normal)
    }

    func entries(_ seqs: ClosedRange<UInt64>, size: Int = 10) -> [OfflineBuffer.Entry] {
        seqs.map { OfflineBuffer.Entry(seq: $0, topic: "t/\($0 % 10)", payload: Array(repeating: 0x61, count: size)) }
    }

    @Test func keepsSeqOrderAcrossReopenAndDeletesOnlyAcknowledged() throws {
        do {
            let buffer = try open()
            try buffer.commit(appending: entries(1...50))
            try buffer.commit(appending: [], deleting: Array(1...10))
        }
        let buffer = try open()
        let stats = try buffer.stats()
        #expect(stats.events == 40)
        #expect(stats.oldestSeq == 11)
        #expect(stats.newestSeq == 50)
        #expect(stats.bytes == 40 * (10 + 3))
        #expect(try buffer.read(after: 0, limit: 5).map(\.seq) == [11, 12, 13, 14, 15])
        #expect(try buffer.read(after: 48, limit: 5).map(\.seq) == [49, 50])
        #expect(try buffer.read(after: 11, limit: 1).first == OfflineBuffer.Entry(seq: 12, topic: "t/2", payload: Array(repeating: 0x61, count: 10)))
    }

    /// Acknowledged seqs are deleted by runs; a run may span seqs the file never had (dropped),
    /// and the count and bytes follow what really went.
    @Test func acknowledgedSeqsAreDeletedByRuns() throws {
        #expect(OfflineBuffer.runs(of: [7, 3, 4, 5, 9, 8, 5, 20]) == [3...5, 7...9, 20...20])
        #expect(OfflineBuffer.runs(of: []) == [])
        let buffer = try open()
        try buffer.commit(appending: entries(1...30) + entries(40...45))
        try buffer.commit(appending: [], deleting: Array(1...10) + [12, 14] + Array(25...42))
        let stats = try buffer.stats()
        #expect(stats.events == 36 - 10 - 2 - 9)
        #expect(stats.bytes == Int64(15) * 13)
        #expect(buffer.eventCount == 15)
        #expect(try buffer.read(after: 0, limit: 100).map(\.seq) == [11, 13] + Array(15...24) + [43, 44, 45])
    }

    @Test func statsFromTheFileMatchTheWritersWithoutAScan() throws {
        let buffer = try open(maxEvents: 100)
        try buffer.commit(appending: entries(1...80))
        try buffer.commit(appending: entries(81...150), deleting: Array(1...5))
        try buffer.moveToDeadLetter(OfflineBuffer.Entry(seq: 60, topic: "t/0", payload: Array(repeating: 0x61, count: 10)), reason: 0x87)
        let fromFile = try OfflineBuffer.stats(path: path)
        #expect(fromFile == (try buffer.stats()))
        #expect(fromFile.events == 99 && fromFile.dropped == 45 && fromFile.deadLettered == 1 && fromFile.newestSeq == 150)
        try buffer.commit(appending: [], deleting: Array(51...150))
        #expect(try OfflineBuffer.stats(path: path).events == 0)
        #expect(try OfflineBuffer.stats(path: path).newestSeq == nil)
    }

    @Test func dropOldestKeepsTheNewestAndCountsDrops() throws {
        let buffer = try open(maxEvents: 100)
        try buffer.commit(appending: entries(1...80))
        #expect(try buffer.commit(appending: entries(81...150)) == 50)
        let stats = try buffer.stats()
        #expect(stats.events == 100)
        #expect(stats.oldestSeq == 51)
        #expect(stats.newestSeq == 150)
        #expect(stats.dropped == 50)
        #expect(try open(maxEvents: 100).stats().dropped == 50)  // durable
    }

    @Test func dropNewestKeepsTheOldestAndCountsDrops() throws {
        let buffer = try open(maxEvents: 100, onFull: .dropNewest)
        try buffer.commit(appending: entries(1...80))
        #expect(try buffer.commit(appending: entries(81...150)) == 50)
        let stats = try buffer.stats()
        #expect(stats.events == 100)
        #expect(stats.oldestSeq == 1)
        #expect(stats.newestSeq == 100)
        #expect(stats.dropped == 50)
    }

    @Test func byteLimitIsHonoured() throws {
        let buffer = try open(maxBytes: 10 * 103)  // ten 100-byte events with 3-byte topics
        try buffer.commit(appending: entries(1...25, size: 100))
        let stats = try buffer.stats()
        #expect(stats.events == 10)
        #expect(stats.bytes <= 10 * 103)
        #expect(stats.oldestSeq == 16)
        #expect(stats.dropped == 15)
    }

    @Test func nextSeqIsCommittedWithTheEvents() throws {
        try open().commit(appending: entries(1...3), nextSeq: 4)
        #expect(try open().storedNextSeq() == 4)
    }

    @Test func deadLetterTakesAPoisonEventOutOfTheQueue() throws {
        let buffer = try open()
        try buffer.commit(appending: entries(1...3))
        try buffer.moveToDeadLetter(entries(2...2)[0], reason: 0x99)
        #expect(try buffer.read(after: 0, limit: 10).map(\.seq) == [1, 3])
        #expect(try buffer.stats().deadLettered == 1)
    }

    @Test func unreadableFileIsMovedAsideNotDeleted() throws {
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try garbage.write(to: URL(fileURLWithPath: path))
        let buffer = try open()
        let aside = try #require(buffer.movedAside)
        #expect(try Data(contentsOf: URL(fileURLWithPath: aside)) == garbage)
        #expect(try buffer.stats().events == 0)
        try buffer.commit(appending: entries(1...2))
        #expect(try buffer.stats().events == 2)
    }

    @Test func statsJSONHasTheSpecShape() throws {
        let buffer = try open()
        #expect(try buffer.stats().json == #"{"events": 0, "bytes": 0, "oldest_seq": null, "newest_seq": null, "dropped": 0, "dead_letter": 0, "history_events": 0, "history_bytes": 0, "history_oldest_seq": null, "history_newest_seq": null, "history_pruned": 0}"#)
        try buffer.commit(appending: entries(5...6))
        #expect(try buffer.stats().json == #"{"events": 2, "bytes": 26, "oldest_seq": 5, "newest_seq": 6, "dropped": 0, "dead_letter": 0, "history_events": 0, "history_bytes": 0, "history_oldest_seq": null, "history_newest_seq": null, "history_pruned": 0}"#)
    }

    /// What the delivery state machine learns from a commit: the totals after it, and exactly
    /// which events the on_full policy took.
    @Test func aCommitReportsTotalsAndWhatItDropped() throws {
        let oldest = try open(maxEvents: 10)
        let first = try oldest.commit(.init(append: entries(1...8), delete: []))
        #expect(first == .init(count: 8, newest: 8))
        let second = try oldest.commit(.init(append: entries(9...14), delete: [8]))
        #expect(second == .init(count: 10, newest: 14, droppedThrough: 3, dropped: 3))  // 13 rows: 1-3 go
        let deleted = try oldest.commit(.init(append: [], delete: Array(4...14)))
        #expect(deleted == .init(count: 0, newest: nil))

        try FileManager.default.removeItem(atPath: path)
        let newest = try open(maxEvents: 3, onFull: .dropNewest)
        let full = try newest.commit(.init(append: entries(1...5), delete: [], droppedInMemory: 2))
        #expect(full == .init(count: 3, newest: 3, droppedNew: [4, 5], dropped: 2))
        #expect(try newest.stats().dropped == 4)  // the two dropped in memory are counted durably too
    }
}
