// The state directory of one gateway: an exclusive lock (a second gateway on the same
// `state_dir` would share its SQLite files and its client id), `sensorgate.db` (the event
// sequence and rule state) and `buffer.db` (the offline buffer). Opened once at start, on a
// thread of ours; each store then belongs to the thread that uses it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SensorgateCore
import SensorgateStorage

public struct StateDirectoryError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Holds `state_dir/lock` (flock) for the life of the process; the kernel releases it when the
/// process ends, however it ends.
public final class StateDirectoryLock: Sendable {
    let fd: Int32

    /// Takes the lock or says who holds it.
    public static func acquire(_ dir: String) throws(StateDirectoryError) -> StateDirectoryLock {
        let path = Paths.join(dir, "lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw StateDirectoryError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = FileSystem.readText(path).flatMap { Int32($0.filter { !$0.isWhitespace }) }
            close(fd)
            if code == EWOULDBLOCK {
                throw StateDirectoryError(description: "sensorgate is already running (pid \(holder.map(String.init) ?? "unknown")) on \(dir); stop it first, or give this gateway a state_dir of its own")
            }
            throw StateDirectoryError(description: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return StateDirectoryLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}

/// Everything the gateway keeps in its state directory, open.
public struct StateDirectory: Sendable {
    public let lock: StateDirectoryLock
    /// `sensorgate.db`: the pipeline's (sequence and rule state).
    public let database: SQLiteDatabase
    public let sequence: SequenceStore
    public let ruleState: RuleStateStore
    /// `buffer.db`: the forwarder's; nil without an `mqtt` section.
    public let buffer: OfflineBuffer?
    /// The forwarder's record of buffer.db in sensorgate.db.
    public let bufferRecord: BufferRecord?
    /// Space to free when the disk is full, to save the sequence and stop cleanly.
    public let reserve: DiskReserve

    /// Blocking (SQLite opens, quick_check, fsync): call it on a thread of ours. A damaged file
    /// is set aside and logged; the sequence always resumes above everything either file knows
    /// was issued, so losing one never makes a seq repeat.
    public static func open(config: GatewayConfig, logger: Logger) throws -> StateDirectory {
        let dir = config.gateway.stateDir
        try FileSystem.createDirectories(dir)
        let lock = try StateDirectoryLock.acquire(dir)
        let reserve = DiskReserve(directory: dir)
        let statePath = Paths.join(dir, "sensorgate.db")
        let (database, damagedState) = try StateFile.open(
            path: statePath, synchronous: config.buffer.sync,
            schema: SequenceStore.schema + RuleStateStore.schema + BufferRecord.schema,
            probe: ["SELECT next_seq FROM sequence", "SELECT json FROM rule_state", "SELECT * FROM buffer_record"],
            describe: { db in
                guard let stmt = try? db.prepare("SELECT next_seq FROM sequence"), (try? stmt.step()) == true else { return nil }
                return "the sequence at \(stmt.int64(0)) and the rule state"
            })
        if let damaged = damagedState {
            logger.error("sensorgate.db was damaged (\(damaged.problem)) and moved to \(damaged.path)\(damaged.held.map { ", with \($0)" } ?? ""): rules and thermostats start fresh; the sequence resumes above every seq buffer.db knows")
        }
        var buffer: OfflineBuffer? = nil
        var mirror: SequenceMirror? = nil
        var record: BufferRecord? = nil
        var resumeAt: UInt64? = nil
        var atLeast: UInt64 = 1
        if config.mqtt != nil {
            let path = Paths.join(dir, "buffer.db")
            let b = try OfflineBuffer(path: path, maxEvents: config.buffer.maxEvents, maxBytes: config.buffer.maxBytes,
                                      onFull: config.buffer.onFull, synchronous: config.buffer.sync)
            if let damaged = b.quarantine {
                logger.error("the offline buffer \(path) was damaged (\(damaged.problem)) and moved to \(damaged.path)\(damaged.held.map { " with \($0) that are not sent" } ?? ""); starting an empty buffer")
            }
            var wentBack = b.quarantine != nil
            if let seen = try BufferRecord.read(database), b.generation < seen.generation {
                wentBack = true
                let lost = max(0, seen.count - b.eventCount)
                logger.error("buffer.db went back from commit \(seen.generation) to \(b.generation) (a damaged or lost WAL after a crash, a truncated or replaced file): at least \(lost) buffered event(s)\(seen.newest.map { " up to seq \($0)" } ?? "") are gone", metadata: ["lost": "\(lost)"])
            }
            if !b.isEmpty { logger.notice("offline buffer holds \(b.eventCount) event(s) from before; they go first") }
            atLeast = try b.highestSeq(includingReservations: true) + 1
            // Mode always keeps the sequence with the events: resume right after the last one
            // committed (numbers reserved above it were never published, and are used again).
            // Offline runs clear it, so a later switch to always cannot go back.
            // A buffer that went back in time no longer knows where the sequence was: then
            // sensorgate.db's reservation decides (a gap, rather than a seq used twice).
            if config.buffer.mode == .always {
                if !wentBack, let next = try b.storedNextSeq() { resumeAt = max(next, try b.highestSeq(includingReservations: false) + 1) }
            } else {
                try b.clearStoredNextSeq()
            }
            buffer = b
            mirror = try SequenceMirror(bufferPath: path)
            record = try BufferRecord(statePath: statePath)
        }
        let sequence = try SequenceStore(database: database, synchronous: config.buffer.sync, resumeAt: resumeAt,
                                         atLeast: atLeast, mirror: mirror)
        if let behind = sequence.resumedFrom, damagedState == nil {
            logger.warning("sensorgate.db was behind buffer.db (next seq \(behind)): it was lost, replaced or restored from a backup; the sequence resumes at \(sequence.peek) so that no seq repeats")
        }
        let ruleState = try RuleStateStore(database: database)
        return StateDirectory(lock: lock, database: database, sequence: sequence, ruleState: ruleState, buffer: buffer,
                              bufferRecord: record, reserve: reserve)
    }
}
