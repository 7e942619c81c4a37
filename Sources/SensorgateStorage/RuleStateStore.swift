// Where rule and thermostat state lives between runs: one row in state_dir/sensorgate.db with
// the engine's JSON and the clocks at the save, so the next start can tell how long the
// gateway was down (the monotonic clock when it is the same boot, the wall clock otherwise).

/// Owns prepared statements (sqlite3_stmt); used by one thread at a time (the pipeline's).
public final class RuleStateStore: @unchecked Sendable {
    public struct Saved: Sendable, Equatable {
        public var json: String
        public var wallMilliseconds: Int64
        public var bootMilliseconds: Int64
        public var bootID: String

        public init(json: String, wallMilliseconds: Int64, bootMilliseconds: Int64, bootID: String) {
            self.json = json
            self.wallMilliseconds = wallMilliseconds
            self.bootMilliseconds = bootMilliseconds
            self.bootID = bootID
        }

        /// How long ago this was saved: exact within one boot; across a reboot, by the wall
        /// clock, never negative (a Pi without an RTC may boot with its clock in the past). Nil
        /// when the saved wall time cannot be true (before 2020, or more than ten years ago:
        /// damaged state), so no downtime is counted.
        public func elapsed(nowWall: Int64, nowBoot: Int64, bootID now: String) -> Int64? {
            if bootID == now, !bootID.isEmpty, nowBoot >= bootMilliseconds { return nowBoot - bootMilliseconds }
            let tenYears: Int64 = 10 * 365 * 86_400_000
            guard wallMilliseconds >= 1_577_836_800_000, nowWall - wallMilliseconds <= tenYears else { return nil }
            return max(0, nowWall - wallMilliseconds)
        }
    }

    private let database: SQLiteDatabase
    private let write: SQLiteStatement

    public init(database: SQLiteDatabase) throws(SQLiteError) {
        self.database = database
        try database.execute(Self.schema)
        write = try database.prepare("INSERT OR REPLACE INTO rule_state (id, json, saved_wall_ms, saved_boot_ms, boot_id) VALUES (1, ?1, ?2, ?3, ?4)")
    }

    public static let schema = """
        CREATE TABLE IF NOT EXISTS rule_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            json TEXT NOT NULL,
            saved_wall_ms INTEGER NOT NULL,
            saved_boot_ms INTEGER NOT NULL,
            boot_id TEXT NOT NULL
        );
        """

    public func load() throws(SQLiteError) -> Saved? {
        let read = try database.prepare("SELECT json, saved_wall_ms, saved_boot_ms, boot_id FROM rule_state WHERE id = 1")
        guard try read.step(), let json = read.string(0) else { return nil }
        return Saved(json: json, wallMilliseconds: read.int64(1), bootMilliseconds: read.int64(2), bootID: read.string(3) ?? "")
    }

    public func save(_ saved: Saved) throws(SQLiteError) {
        try write.bind(1, saved.json)
        try write.bind(2, saved.wallMilliseconds)
        try write.bind(3, saved.bootMilliseconds)
        try write.bind(4, saved.bootID)
        try write.run()
    }
}
