// systemd's side of sd_notify for tests: an AF_UNIX datagram socket bound in a temp dir, whose
// path goes into the gateway's NOTIFY_SOCKET; every datagram is kept with when it arrived.

import Foundation

final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let dir: TemporaryDirectory
    private let lock = NSLock()
    private var received: [(at: Date, message: String)] = []

    init() throws {
        dir = try TemporaryDirectory()
        path = dir.url.appendingPathComponent("notify").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, status == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit { close(fd) }

    /// Every message so far (drains the socket first).
    var messages: [(at: Date, message: String)] {
        lock.withLock {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                received.append((Date(), String(decoding: buffer[0..<n], as: UTF8.self)))
            }
            return received
        }
    }

    /// The messages' assignments in order, one string per datagram (`READY=1\nSTATUS=…` stays one).
    var texts: [String] { messages.map(\.message) }

    func count(_ prefix: String) -> Int { texts.filter { $0.hasPrefix(prefix) }.count }

    func waitFor(timeout: TimeInterval = 20, _ predicate: ([String]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(texts) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(texts)
    }
}
