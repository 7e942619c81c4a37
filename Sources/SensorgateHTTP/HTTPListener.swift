// A listening TCP socket, bound before the gateway starts its services so a taken port or a
// wrong address stops `run` at once with the reason, instead of failing later in a thread.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct HTTPListenError: Error, CustomStringConvertible, Sendable {
    public let address: String
    public let reason: String
    public var description: String { "cannot listen on \(address): \(reason)" }
}

public struct HTTPListener: Sendable {
    public let fd: Int32
    /// The port bound (the one asked for, or the kernel's choice for port 0).
    public let port: Int
    /// `host:port` as bound, for messages.
    public let address: String

    /// Binds `host` (a numeric IPv4 or IPv6 address, or a name such as `localhost`) and `port`,
    /// non-blocking and close-on-exec, with SO_REUSEADDR so a restart does not wait for
    /// TIME_WAIT.
    public static func bind(host: String, port: Int, backlog: Int32 = 64) throws(HTTPListenError) -> HTTPListener {
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPListenError(address: shown, reason: rc == 0 ? "no address" : "the address does not resolve (\(String(cString: gai_strerror(rc))))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = EADDRNOTAVAIL
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = errno; continue }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
                lastError = errno
                Glibc.close(fd)
                continue
            }
            let bound = boundPort(fd) ?? port
            return HTTPListener(fd: fd, port: bound, address: host.contains(":") ? "[\(host)]:\(bound)" : "\(host):\(bound)")
        }
        var reason = String(cString: strerror(lastError))
        if lastError == EADDRINUSE { reason += " (another program, or another gateway, serves that port)" }
        if lastError == EADDRNOTAVAIL { reason += " (no interface of this host has that address)" }
        if lastError == EACCES { reason += " (ports below 1024 need privileges)" }
        throw HTTPListenError(address: shown, reason: reason)
    }

    public func close() { _ = Glibc.close(fd) }

    private static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        return withUnsafePointer(to: &storage) { pointer -> Int? in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET: pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            case AF_INET6: pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            default: nil
            }
        }
    }
}
