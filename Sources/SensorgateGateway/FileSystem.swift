// Small POSIX file helpers for the gateway's edge: whole-file reads, directory listings,
// creating the state directory. (The core never touches files.)

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore

public enum FileSystem {
    /// The whole file, or nil if it cannot be read. `limit` guards against reading a device node forever.
    public static func read(_ path: String, limit: Int = 16 * 1024 * 1024) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }

    public static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mode bits of a file, nil if it does not exist.
    public static func mode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode : nil
    }

    /// `mkdir -p`.
    public static func createDirectories(_ path: String) throws(FileSystemError) {
        if isDirectory(path) { return }
        let parent = Paths.directory(of: path)
        if parent != path, parent != ".", parent != "/" { try createDirectories(parent) }
        if mkdir(path, 0o750) != 0, errno != EEXIST {
            throw FileSystemError(path: path, message: String(cString: strerror(errno)))
        }
    }

    /// The working directory, nil if it cannot be told.
    public static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// This process's executable, symlinks resolved (nil if /proc is not mounted).
    public static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Writes `text` to `path` (created or truncated, mode 644).
    public static func writeText(_ path: String, _ text: String) throws(FileSystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError(path: path, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError(path: path, message: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    public static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

public struct FileSystemError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

extension InstallLayout {
    /// The layout for this binary (its shipped profiles beside it: `PREFIX/bin` → `PREFIX/share`).
    public static let current = InstallLayout.forExecutable(FileSystem.executablePath() ?? "")
}

/// Config and profile files from the real file system.
public struct FileConfigSource: ConfigFileSource {
    public init() {}
    public func readFile(_ path: String) -> String? { FileSystem.readText(path) }
    public func listDirectory(_ path: String) -> [String]? { FileSystem.list(path) }
}
