// Reading one sysfs attribute: a single read() from offset 0, as the kernel's show() functions
// expect, with errno kept so a missing file (sensor unplugged) is told apart from an I/O error.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore

public enum SysfsFile {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// ENOENT/ENODEV/ENXIO: the file or its device is gone (a 1-Wire sensor unplugged).
        case missing(String)
        /// Any other errno, with its message (EIO from a failing bus, EACCES, …).
        case failed(String, errno: Int32, message: String)

        public var reason: FailureReason {
            switch self {
            case .missing: return .missing
            case .failed: return .readError
            }
        }

        public var description: String {
            switch self {
            case .missing(let path): return "\(path) is gone (sensor unplugged or driver unloaded?); retrying"
            case .failed(let path, _, let message): return "cannot read \(path): \(message)"
            }
        }
    }

    /// The whole attribute as text (sysfs attributes are at most a page).
    public static func read(_ path: String) -> Result<String, Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(failure(path, errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(failure(path, errno))
            }
            if n == 0 { break }
            total += n
        }
        return .success(String(decoding: buffer[0..<total], as: UTF8.self))
    }

    private static func failure(_ path: String, _ code: Int32) -> Failure {
        if code == ENOENT || code == ENODEV || code == ENXIO { return .missing(path) }
        return .failed(path, errno: code, message: String(cString: strerror(code)))
    }
}
