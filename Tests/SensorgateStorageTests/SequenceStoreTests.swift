import Foundation
import Testing
@testable import SensorgateStorage

/// The event sequence on a real SQLite file: never repeats, never goes down, no gap after a clean close.
@Suite struct SequenceStoreTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-seq-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }

    var path: String { dir.appendingPathComponent("sensorgate.db").path }

    func open(blockSize: UInt64 = 10) throws -> SequenceStore {
        let db = try SQLiteDatabase(path: path)
        try db.configure(synchronous: .normal)
        return try SequenceStore(database: db, blockSize: blockSize)
    }

    @Test func startsAtOneAndRisesByOne() throws {
        let store = try open()
        #expect(try (0..<25).map { _ in try store.next() } == Array(1...25))
    }

    @Test func cleanCloseLeavesNoGap() throws {
        do {
            let store = try open()
            for _ in 0..<7 { _ = try store.next() }
            try store.close()
        }
        let reopened = try open()
        #expect(try reopened.next() == 8)
    }

    @Test func crashNeverRepeatsANumber() throws {
        var seen = Set<UInt64>()
        var last: UInt64 = 0
        for run in 0..<5 {
            // No close(): as if the process was killed after handing out these numbers.
            let store = try open(blockSize: 4)
            for _ in 0..<(run * 3 + 2) {
                let seq = try store.next()
                #expect(seq > last)
                #expect(seen.insert(seq).inserted)
                last = seq
            }
        }
    }

    @Test func aCrashResumesAfterTheReservedBlock() throws {
        let store = try open(blockSize: 100)
        #expect(try store.next() == 1)
        // The block's end (101) was committed before 1 was handed out; without close() the next
        // process resumes there: a jump, never a repeat.
        let after = try open(blockSize: 100)
        #expect(try after.next() == 101)
    }

    @Test func corruptFileIsReportedNotErased() throws {
        try Data("this is not a database, it is a text file that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SQLiteError.self) { try open() }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("this is not a database"))
    }
}
