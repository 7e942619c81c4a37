// A megabyte kept in the state directory for a full disk: when SQLite cannot write, the
// gateway deletes the reserve and tries again, so it can still reserve sequence numbers and
// save its state on a clean stop. Made again at the next start, when there is room.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore
import Synchronization

public final class DiskReserve: Sendable {
    public let path: String
    private let present: Atomic<Bool>

    /// Creates the reserve if it is missing (best effort: on a full disk there is none).
    public init(directory: String, size: Int = 1 << 20) {
        path = Paths.join(directory, "reserve")
        var exists = false
        var info = stat()
        if stat(path, &info) == 0, info.st_size >= size {
            exists = true
        } else {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let chunk = [UInt8](repeating: 0, count: 64 * 1024)
                var written = 0
                while written < size {
                    let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, size - written)) }
                    if n <= 0 { break }
                    written += n
                }
                exists = written == size && fsync(fd) == 0
                close(fd)
                if !exists { unlink(path) }
            }
        }
        present = Atomic(exists)
    }

    /// Deletes the reserve; true when that freed space (it was there).
    public func release() -> Bool {
        guard present.exchange(false, ordering: .acquiringAndReleasing) else { return false }
        unlink(path)
        return true
    }
}
