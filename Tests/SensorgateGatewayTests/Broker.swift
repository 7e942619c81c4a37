// A real mosquitto on a random loopback port, with persistence in a temp dir so a subscriber's
// session (and its queued QoS 1 messages) survives the broker being stopped and started again.

import Foundation

final class Broker {
    let port: Int
    let dir: TemporaryDirectory
    private var pid: pid_t?

    /// `acl`: the text of an ACL file for anonymous clients (mosquitto's `acl_file`).
    /// `tls`: serve TLS only, with the certificates `TestCertificates` made.
    /// `users`: name → password; anonymous clients are then refused.
    /// `durable`: save the broker's state at every change (queued messages included), so a
    /// SIGKILL loses nothing the broker acknowledged (slower; for the broker-kill tests).
    /// `nodelay`: TCP_NODELAY towards subscribers too (no 40 ms Nagle stalls), for latency tests.
    init(acl: String? = nil, tls: TestCertificates? = nil, users: [String: String] = [:], port: Int? = nil, durable: Bool = false,
         nodelay: Bool = false) throws {
        dir = try TemporaryDirectory()
        self.port = try port ?? Broker.freePort()
        var extra = try acl.map { "acl_file \(try dir.write("acl", $0).path)" } ?? ""
        if !users.isEmpty {
            let file = try dir.write("passwd", "")
            for (user, password) in users {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_passwd")
                p.arguments = ["-b", file.path, user, password]
                try p.run()
                p.waitUntilExit()
            }
            chmod(file.path, 0o644)
            extra += "\npassword_file \(file.path)"
        }
        if let tls { extra += "\ncafile \(tls.caFile)\ncertfile \(tls.serverCert)\nkeyfile \(tls.serverKey)" }
        _ = try dir.write("mosquitto.conf", """
            listener \(self.port) 127.0.0.1
            allow_anonymous \(users.isEmpty)
            persistence true
            persistence_location \(dir.url.path)/
            autosave_interval 1
            max_queued_messages 1000000
            \(durable ? "autosave_on_changes true" : "")
            \(nodelay ? "set_tcp_nodelay true" : "")
            user root
            log_dest stderr
            log_type error
            \(extra)
            """)
        try start()
    }

    deinit { stop() }

    func start() throws {
        pid = try spawnWithDefaultSignals("/usr/sbin/mosquitto", ["-c", dir.url.appendingPathComponent("mosquitto.conf").path],
                                          output: dir.url.appendingPathComponent("broker.log").path)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !Broker.accepts(port) { Thread.sleep(forTimeInterval: 0.02) }
    }

    /// SIGKILL by PID: no goodbye, sessions as of the last autosave (every second).
    func kill9() {
        guard let pid else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        self.pid = nil
    }

    /// SIGTERM by PID; mosquitto saves its sessions on the way out.
    func stop() {
        guard let pid else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        self.pid = nil
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// mosquitto_sub with a persistent QoS 1 session, writing `topic payload` lines to a file.
final class Subscriber {
    private let pid: pid_t
    private let dir: TemporaryDirectory
    private var outputPath: String { dir.url.appendingPathComponent("sub.txt").path }

    /// Each line starts with its arrival time (`-F '@s.@N %t %p'`), read by `arrivals`.
    private let timed: Bool

    /// `extra`: more mosquitto_sub arguments (`-V mqttv311`, `-u NAME` for brokers that keep
    /// sessions only for named clients). `timed`: record each message's arrival time. `login`:
    /// user and password for a broker that refuses anonymous clients. `id`: the client id (two
    /// subscribers on one broker need different ones).
    init(port: Int, filter: String = "sensorgate/#", extra: [String] = [], timed: Bool = false, login: (String, String)? = nil,
         id: String? = nil) throws {
        dir = try TemporaryDirectory()
        self.timed = timed
        let path = dir.url.appendingPathComponent("sub.txt").path
        let credentials = login.map { ["-u", $0.0, "-P", $0.1] } ?? []
        pid = try spawnWithDefaultSignals("/usr/bin/mosquitto_sub",
                                          ["-p", String(port), "-t", filter, "-q", "1", "-c", "-i", id ?? "test-sub-\(port)"]
                                            + (timed ? ["-F", "@s.@N %t %p"] : ["-v"]) + extra + credentials,
                                          output: path)
        Thread.sleep(forTimeInterval: 0.3)  // let it subscribe
    }

    /// (arrival time in seconds, `topic payload` line) of each message, with `timed`.
    var arrivals: [(time: Double, line: String)] {
        rawLines.compactMap { line in
            guard timed, let space = line.firstIndex(of: " "), let time = Double(line[..<space]) else { return nil }
            return (time, String(line[line.index(after: space)...]))
        }
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Complete lines only (a line being written has no newline yet), as `topic payload`.
    var lines: [String] { timed ? arrivals.map(\.line) : rawLines }

    private var rawLines: [String] {
        guard let text = try? String(contentsOfFile: outputPath, encoding: .utf8), let end = text.lastIndex(of: "\n") else { return [] }
        return text[..<end].split(separator: "\n").map(String.init)
    }

    /// (topic, seq, parsed JSON) of each event message, in arrival order.
    var events: [(topic: String, seq: UInt64, json: [String: Any])] {
        lines.compactMap { line in
            guard let space = line.firstIndex(of: " ") else { return nil }
            let topic = String(line[..<space])
            guard let data = line[line.index(after: space)...].data(using: .utf8),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let seq = (json["seq"] as? NSNumber)?.uint64Value else { return nil }
            return (topic, seq, json)
        }
    }

    var seqs: [UInt64] { events.map(\.seq) }

    /// (topic, payload) of each message, the payload exactly as received.
    var messages: [(topic: String, payload: String)] {
        lines.compactMap { line in
            guard let space = line.firstIndex(of: " ") else { return nil }
            return (String(line[..<space]), String(line[line.index(after: space)...]))
        }
    }

    func waitFor(timeout: TimeInterval = 30, _ predicate: (Subscriber) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(self) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return predicate(self)
    }
}

/// posix_spawn with every signal unblocked and at its default action: test threads (dispatch
/// workers) block signals, and a child inherits that mask, so SIGTERM would never reach it.
func spawnWithDefaultSignals(_ path: String, _ arguments: [String], output: String) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t(), all = sigset_t()
    sigemptyset(&empty)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    closeInheritedDescriptors(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
    return pid
}

/// Closes, in a posix_spawn child, every descriptor above stderr except `keep`. posix_spawn (unlike
/// Foundation's Process) passes on every descriptor without FD_CLOEXEC, and Foundation's pipes have
/// none: a broker started while another test's `Pipe` was open kept that pipe's write end, so
/// the reader waiting for its end of file waited until the broker's own test ended.
func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t, keep: Set<Int32> = []) {
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    // A descriptor closed meanwhile is no error: glibc fails a close action only for an fd out of range.
    for fd in open.compactMap({ Int32($0) }) where fd > 2 && !keep.contains(fd) {
        posix_spawn_file_actions_addclose(&actions, fd)
    }
}

/// A throwaway CA and a server certificate for 127.0.0.1, made with openssl.
final class TestCertificates {
    let dir: TemporaryDirectory
    var caFile: String { dir.url.appendingPathComponent("ca.crt").path }
    var serverCert: String { dir.url.appendingPathComponent("server.crt").path }
    var serverKey: String { dir.url.appendingPathComponent("server.key").path }

    init() throws {
        dir = try TemporaryDirectory()
        let d = dir.url.path
        _ = try dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n")
        for args in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sensorgate test CA",
             "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr"],
            ["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "\(d)/san.ext", "-out", "\(d)/server.crt"],
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw POSIXError(.EIO) }
        }
        chmod(serverKey, 0o644)  // mosquitto may read it as another user
    }
}
