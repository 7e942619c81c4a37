// The gateway-wide event sequence. `seq` must never repeat or go down, across restarts and
// kill -9 too, without a disk write per event: numbers are reserved in blocks, and the end of
// the block is committed (synchronous=FULL, so a power cut cannot roll it back) before any number
// in it is handed out. A crash skips at most the rest of a block; a clean close records the
// exact next number so a clean restart leaves no gap.

import SensorgateCore

/// Owns a prepared statement (sqlite3_stmt); used by one thread at a time (the pipeline's).
public final class SequenceStore: @unchecked Sendable {
    private let database: SQLiteDatabase
    private let blockSize: UInt64
    private let normalSync: BufferSettings.Sync
    private var nextValue: UInt64
    private var reservedUntil: UInt64
    private let save: SQLiteStatement
    /// buffer.db's copy of each reservation, so losing sensorgate.db cannot make seq go back.
    private let mirror: SequenceMirror?

    /// `resumeAt`: with `buffer.mode: always`, the seq after the last event committed with the
    /// events themselves; numbers above it were reserved but never published, so they are reused
    /// and the sequence has no gap even after kill -9. `atLeast`: the first seq that is certainly
    /// unused (one above everything buffer.db knows was issued), for a sensorgate.db that is new
    /// or lost its place.
    public init(database: SQLiteDatabase, blockSize: UInt64 = 10_000, synchronous: BufferSettings.Sync = .normal,
                resumeAt: UInt64? = nil, atLeast: UInt64 = 1, mirror: SequenceMirror? = nil) throws(SQLiteError) {
        self.database = database
        self.blockSize = max(1, blockSize)
        self.normalSync = synchronous
        self.mirror = mirror
        try database.execute(Self.schema)
        let read = try database.prepare("SELECT next_seq FROM sequence WHERE id = 1")
        guard try read.step() else { throw SQLiteError(code: 1, message: "sequence row missing", path: database.path) }
        nextValue = UInt64(max(1, read.int64(0)))
        reservedUntil = nextValue
        save = try database.prepare("UPDATE sequence SET next_seq = ?1 WHERE id = 1")
        if let resumeAt {
            nextValue = max(1, resumeAt)
            try persist(nextValue)
            reservedUntil = nextValue
        } else if nextValue < atLeast {
            // sensorgate.db is behind buffer.db: it was lost, damaged or replaced.
            resumedFrom = nextValue
            nextValue = atLeast
            try persist(nextValue)
            reservedUntil = nextValue
        }
    }

    /// Set when the stored position was behind what buffer.db knows and the sequence jumped.
    public private(set) var resumedFrom: UInt64? = nil

    public static let schema = """
        CREATE TABLE IF NOT EXISTS sequence (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            next_seq INTEGER NOT NULL   -- no seq below this was, or will be, handed out again
        );
        INSERT OR IGNORE INTO sequence (id, next_seq) VALUES (1, 1);
        """

    /// The number the next event will get.
    public var peek: UInt64 { nextValue }

    public func next() throws(SQLiteError) -> UInt64 {
        if nextValue >= reservedUntil {
            try persist(nextValue + blockSize)
            reservedUntil = nextValue + blockSize
        }
        defer { nextValue += 1 }
        return nextValue
    }

    /// Records the exact next number, so a clean restart continues without a gap.
    public func close() throws(SQLiteError) {
        try persist(nextValue)
        reservedUntil = nextValue
    }

    /// Always synchronous=FULL: a power cut must not roll a reservation back. The mirror is
    /// written first: a reservation buffer.db does not know of could repeat seqs if
    /// sensorgate.db were lost later.
    private func persist(_ value: UInt64) throws(SQLiteError) {
        try mirror?.record(reservedThrough: value)
        try database.setSynchronous(.full)
        defer { try? database.setSynchronous(normalSync) }
        try save.bind(1, Int64(value))
        try save.run()
    }
}
