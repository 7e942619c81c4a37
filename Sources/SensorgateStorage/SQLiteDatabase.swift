// The one place that talks to SQLite: a connection that owns its handle, prepared statements
// that own theirs, and errors that say which file and what SQLite said.

import CSQLite
import SensorgateCore

public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let path: String

    public var description: String { "SQLite error \(code) on \(path): \(message)" }

    /// SQLITE_FULL: the disk is full.
    public var isDiskFull: Bool { code & 0xFF == SQLITE_FULL }
    /// The file is not a database, or is damaged.
    public var isCorrupt: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }
}

/// One connection; owns its sqlite3 handle. Used by one thread at a time (opened on one, then
/// handed to the thread that owns it), never concurrently.
public final class SQLiteDatabase: @unchecked Sendable {
    public let path: String
    private var handle: OpaquePointer?


    public init(path: String) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, path: path)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    var db: OpaquePointer { handle! }

    func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(db)), path: path)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, path: path)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return SQLiteStatement(stmt, database: self)
    }

    /// WAL journal (readers never block the writer; a crash loses nothing committed) and the
    /// requested durability: NORMAL survives a process crash, FULL a power cut too.
    public func configure(synchronous: BufferSettings.Sync) throws(SQLiteError) {
        let mode = try prepare("PRAGMA journal_mode=WAL")
        _ = try mode.step()
        try setSynchronous(synchronous)
    }

    /// `normal`: a crash of the process loses nothing committed; `full`: a power cut neither.
    public func setSynchronous(_ synchronous: BufferSettings.Sync) throws(SQLiteError) {
        try execute("PRAGMA synchronous=\(synchronous == .full ? "FULL" : "NORMAL")")
    }

    /// Runs `body` in one transaction, rolled back if it throws.
    public func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public var changes: Int { Int(sqlite3_changes(db)) }

    /// `PRAGMA quick_check`: "ok" or the first problems found.
    public func quickCheck() throws(SQLiteError) -> String {
        let stmt = try prepare("PRAGMA quick_check")
        var lines: [String] = []
        while try stmt.step(), lines.count < 5 { lines.append(stmt.string(0) ?? "") }
        return lines.joined(separator: "; ")
    }
}

/// A prepared statement, reset for reuse after each run.
public final class SQLiteStatement {
    private let stmt: OpaquePointer
    private let database: SQLiteDatabase

    fileprivate init(_ stmt: OpaquePointer, database: SQLiteDatabase) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try check(sqlite3_bind_int64(stmt, index, value))
    }

    public func bind(_ index: Int32, _ value: String) throws(SQLiteError) {
        try check(sqlite3_bind_text(stmt, index, value, -1, Self.transient))
    }

    public func bind(_ index: Int32, _ value: [UInt8]) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32($0.count), Self.transient) }
        try check(rc)
    }

    public func bindNull(_ index: Int32) throws(SQLiteError) { try check(sqlite3_bind_null(stmt, index)) }

    /// Steps once: true when a row is available, false when done.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw database.error(rc)
    }

    /// Runs to completion and resets for the next use.
    public func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    public func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    public func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(stmt, column) else { return nil }
        return String(cString: text)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let pointer = sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK else { throw database.error(rc) }
    }
}
