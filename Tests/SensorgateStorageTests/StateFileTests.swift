import Foundation
import Testing
import SensorgateCore
@testable import SensorgateStorage

/// Damaged state files on real SQLite: set aside (never deleted), replaced by a fresh file, and
/// the sequence never goes back because the two files vouch for each other.
@Suite struct StateFileTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-state-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func buffer() throws -> OfflineBuffer {
        try OfflineBuffer(path: path("buffer.db"), maxEvents: 1_000_000, maxBytes: 1 << 30, onFull: .dropOldest, synchronous: .normal)
    }

    func events(_ seqs: ClosedRange<UInt64>) -> [OutboundEvent] {
        seqs.map { OutboundEvent(seq: $0, topic: "t", payload: Array(repeating: 0x61, count: 200)) }
    }

    /// Overwrites `count` bytes at `offset` with garbage.
    func garble(_ file: String, at offset: UInt64, count: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
        try handle.close()
    }

    func checkpoint(_ file: String) throws {
        let db = try SQLiteDatabase(path: file)
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    @Test func aBufferWithDamagedPagesIsSetAsideWithWhatItHeld() throws {
        do {
            let b = try buffer()
            try b.commit(appending: events(1...400))
        }
        try checkpoint(path("buffer.db"))
        let size = try FileManager.default.attributesOfItem(atPath: path("buffer.db"))[.size] as! UInt64
        try garble(path("buffer.db"), at: size / 2, count: 8192)  // the middle of the events b-tree
        let b = try buffer()
        let damaged = try #require(b.quarantine)
        #expect(damaged.path.hasPrefix(path("buffer.db.corrupt-")))
        #expect(FileManager.default.fileExists(atPath: damaged.path))
        #expect(b.eventCount == 0)
        try b.commit(appending: events(401...402))  // the fresh file works
        #expect(try b.stats().events == 2)
    }

    @Test(arguments: ["header", "truncated"])
    func aDamagedStateFileIsSetAside(_ damage: String) throws {
        let file = path("sensorgate.db")
        do {
            let db = try SQLiteDatabase(path: file)
            try db.configure(synchronous: .normal)
            let sequence = try SequenceStore(database: db)
            for _ in 0..<5 { _ = try sequence.next() }
            try sequence.close()
        }
        try checkpoint(file)
        if damage == "header" {
            try garble(file, at: 0, count: 100)
        } else {
            let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! UInt64
            try FileHandle(forUpdating: URL(fileURLWithPath: file)).truncate(atOffset: size / 2 + 100)
        }
        let (db, damaged) = try StateFile.open(path: file, synchronous: .normal, schema: SequenceStore.schema,
                                              probe: ["SELECT next_seq FROM sequence"])
        #expect(damaged != nil)
        #expect(FileManager.default.fileExists(atPath: damaged!.path))
        #expect(try SequenceStore(database: db).peek == 1)  // a fresh file
    }

    /// sensorgate.db lost: the sequence resumes above every seq buffer.db knows was handed out,
    /// including blocks reserved for events that went straight to the broker from memory.
    @Test func theSequenceResumesAboveWhatBufferDBKnows() throws {
        do {
            let b = try buffer()
            try b.commit(appending: events(1...3))
            let db = try SQLiteDatabase(path: path("sensorgate.db"))
            let sequence = try SequenceStore(database: db, blockSize: 100, mirror: try SequenceMirror(bufferPath: path("buffer.db")))
            for _ in 0..<150 { _ = try sequence.next() }  // two blocks reserved: up to 201
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path("sensorgate.db") + suffix) }
        let b = try buffer()
        #expect(try b.highestSeq(includingReservations: true) == 200)
        let db = try SQLiteDatabase(path: path("sensorgate.db"))
        let sequence = try SequenceStore(database: db, atLeast: try b.highestSeq(includingReservations: true) + 1)
        #expect(sequence.peek == 201)
        #expect(sequence.resumedFrom == 1)
    }

    /// After a clean stop the mirror holds the exact next seq: a restart continues without a gap.
    @Test func aCleanStopLeavesNoGapThroughTheMirror() throws {
        do {
            let db = try SQLiteDatabase(path: path("sensorgate.db"))
            let sequence = try SequenceStore(database: db, blockSize: 100, mirror: try SequenceMirror(bufferPath: path("buffer.db")))
            for _ in 0..<25 { _ = try sequence.next() }
            try sequence.close()
        }
        let b = try buffer()
        let db = try SQLiteDatabase(path: path("sensorgate.db"))
        let sequence = try SequenceStore(database: db, atLeast: try b.highestSeq(includingReservations: true) + 1)
        #expect(sequence.peek == 26)
        #expect(sequence.resumedFrom == nil)
    }

    /// buffer.db that lost commits it had made (truncated, or its WAL damaged after kill -9) is
    /// found out by the record sensorgate.db keeps of it.
    @Test func aBufferThatWentBackInTimeIsFoundOut() throws {
        let record = try BufferRecord(statePath: path("sensorgate.db"))
        do {
            let b = try buffer()
            try b.commit(appending: events(1...300))
            try b.commit(appending: events(301...345))
            try record.write(.init(generation: b.generation, count: b.eventCount, newest: b.newestSeq))
        }
        try FileHandle(forUpdating: URL(fileURLWithPath: path("buffer.db"))).truncate(atOffset: 0)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path("buffer.db") + suffix) }
        let b = try buffer()
        let seen = try #require(try BufferRecord.read(try SQLiteDatabase(path: path("sensorgate.db"))))
        #expect(seen == .init(generation: 2, count: 345, newest: 345))
        #expect(b.generation < seen.generation)
    }

    @Test func aFullDiskReserveIsFreedOnce() throws {
        let reserve = DiskReserve(directory: dir.path, size: 64 * 1024)
        #expect(FileManager.default.fileExists(atPath: reserve.path))
        #expect(reserve.release())
        #expect(!FileManager.default.fileExists(atPath: reserve.path))
        #expect(!reserve.release())
    }
}
