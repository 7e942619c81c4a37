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

    /// Blocking (SQLite opens, fsync): call it on a thread of ours.
    public static func open(config: GatewayConfig, logger: Logger) throws -> StateDirectory {
        let dir = config.gateway.stateDir
        try FileSystem.createDirectories(dir)
        let lock = try StateDirectoryLock.acquire(dir)
        var buffer: OfflineBuffer? = nil
        var resumeAt: UInt64? = nil
        if config.mqtt != nil {
            let path = Paths.join(dir, "buffer.db")
            let b = try OfflineBuffer(path: path, maxEvents: config.buffer.maxEvents, maxBytes: config.buffer.maxBytes,
                                      onFull: config.buffer.onFull, synchronous: config.buffer.sync)
            if let aside = b.movedAside {
                logger.error("the offline buffer \(path) could not be read and was moved to \(aside); starting an empty buffer")
            }
            if !b.isEmpty { logger.notice("offline buffer holds \(b.eventCount) event(s) from before; they go first") }
            // Mode always keeps the sequence with the events: resume right after the last one
            // committed. Offline runs clear it, so a later switch to always cannot go back.
            if config.buffer.mode == .always { resumeAt = try b.storedNextSeq() } else { try b.clearStoredNextSeq() }
            buffer = b
        }
        let database = try SQLiteDatabase(path: Paths.join(dir, "sensorgate.db"))
        try database.configure(synchronous: config.buffer.sync)
        let sequence = try SequenceStore(database: database, synchronous: config.buffer.sync, resumeAt: resumeAt)
        let ruleState = try RuleStateStore(database: database)
        return StateDirectory(lock: lock, database: database, sequence: sequence, ruleState: ruleState, buffer: buffer)
    }
}
