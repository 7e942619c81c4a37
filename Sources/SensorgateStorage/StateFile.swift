// Opening a state file so that damage never stops the gateway: a file SQLite cannot read, or
// whose `PRAGMA quick_check` finds damaged pages, is renamed to `<name>.corrupt-<unix time>`
// (with its WAL; never deleted, so it can be examined) and a fresh one takes its place. What the
// damaged file held, as far as it can still be read, is returned for the log.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore

public enum StateFile {
    /// A damaged file that was set aside.
    public struct Quarantine: Sendable, Equatable {
        /// Where it went.
        public var path: String
        /// What SQLite said about it.
        public var problem: String
        /// What it held, read before moving it (nil when nothing could be read).
        public var held: String?
    }

    /// Opens (or creates) the database at `path` with `schema`, then proves it readable: quick_check
    /// and every statement of `probe` must run. A damaged file is quarantined and a new one made.
    /// `describe` reads what the damaged file held, for the log; it may fail.
    public static func open(path: String, synchronous: BufferSettings.Sync, schema: String, probe: [String],
                            describe: (SQLiteDatabase) -> String? = { _ in nil }) throws(SQLiteError) -> (SQLiteDatabase, Quarantine?) {
        var problem: String
        do {
            let db = try SQLiteDatabase(path: path)
            do {
                try db.configure(synchronous: synchronous)
                try db.execute(schema)
                let check = try db.quickCheck()
                if check == "ok" {
                    for sql in probe {
                        let stmt = try db.prepare(sql)
                        while try stmt.step() {}
                    }
                    return (db, nil)
                }
                problem = "quick_check: \(check)"
            } catch let error where error.isCorrupt {
                problem = error.message
            }
            let held = describe(db)
            return (try reopen(path, synchronous: synchronous, schema: schema, problem: problem, held: held))
        } catch let error where error.isCorrupt {
            problem = error.message
        }
        return try reopen(path, synchronous: synchronous, schema: schema, problem: problem, held: nil)
    }

    private static func reopen(_ path: String, synchronous: BufferSettings.Sync, schema: String, problem: String,
                               held: String?) throws(SQLiteError) -> (SQLiteDatabase, Quarantine?) {
        let aside = quarantine(path)
        let db = try SQLiteDatabase(path: path)
        try db.configure(synchronous: synchronous)
        try db.execute(schema)
        return (db, Quarantine(path: aside, problem: problem, held: held))
    }

    /// Renames the file and its WAL to `<path>.corrupt-<unix time>[-wal]`; returns the new name.
    static func quarantine(_ path: String) -> String {
        var target = "\(path).corrupt-\(time(nil))"
        var n = 1
        while access(target, F_OK) == 0 {
            n += 1
            target = "\(path).corrupt-\(time(nil))-\(n)"
        }
        rename(path, target)
        rename(path + "-wal", target + "-wal")
        unlink(path + "-shm")
        return target
    }
}
