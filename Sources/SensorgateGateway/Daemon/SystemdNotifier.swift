// sd_notify(3) without libsystemd: each message is one datagram to the AF_UNIX socket systemd
// names in $NOTIFY_SOCKET (a path, or `@name` in the abstract namespace). Sends never wait (a
// full socket drops the message, as sd_notify's would fail), so async code may call them.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct SystemdNotifier: Sendable {
    /// `/run/systemd/notify`, or `@name` for an abstract socket.
    public let socketPath: String

    /// Nil when systemd did not ask for notifications (no NOTIFY_SOCKET: not under `Type=notify`).
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count > 1 else {
            return nil
        }
        socketPath = path
    }

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), nil when it set none
    /// or set it for another process.
    public static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(usec)
    }

    /// Sends `message` (newline-separated `KEY=value` assignments); false if it could not go.
    @discardableResult
    public func send(_ message: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
            if path[0] == UInt8(ascii: "@") { raw[0] = 0 }  // abstract: a leading NUL, no terminator
        }
        let length = MemoryLayout<sa_family_t>.size + path.count + (path[0] == UInt8(ascii: "@") ? 0 : 1)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sa, socklen_t(length)) }
            }
        }
        return sent == bytes.count
    }

    @discardableResult
    public func ready(status: String? = nil) -> Bool { send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? "")) }
    public func status(_ text: String) { send("STATUS=\(text)") }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() { send("STOPPING=1") }

    /// MONOTONIC_USEC lets a systemd that knows `Type=notify-reload` (253+) match the reload it asked for.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000)")
    }
}
