// What the benchmarks run on: child processes stopped by PID, a private mosquitto on a free
// loopback port, the libmosquitto floor programs, and RSS read from /proc.

import Foundation

func note(_ text: String) { FileHandle.standardError.write((text + "\n").data(using: .utf8)!) }

struct Result {
    enum Comparison { case atLeast, atMost }
    var name: String
    var figure: Double
    var unit: String
    var target: Double
    var comparison: Comparison
    var detail = ""
    var pass: Bool { comparison == .atLeast ? figure >= target : figure <= target }
}

struct BenchError: Error, CustomStringConvertible { var description: String }

/// A background child process, killed on deinit.
final class Child {
    let process = Process()
    let outputPath: String

    init(_ executable: String, _ arguments: [String], output: String) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        outputPath = output
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(pid, number) }

    @discardableResult
    func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit(); return false }
        return true
    }

    /// (VmRSS, VmHWM) in kB.
    var memory: (rss: Int, peak: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "0") ?? 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// VmRSS and its file-backed and anonymous parts, in kB.
    var residentParts: (total: Int, file: Int, anonymous: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "0") ?? 0
        }
        return (field("VmRSS"), field("RssFile"), field("RssAnon"))
    }

    /// CPU time of all its threads so far, in seconds: utime + stime of /proc/PID/stat.
    var cpuSeconds: Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name, which is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return 0 }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Per thread: (CPU nanoseconds from schedstat, voluntary + nonvoluntary context switches).
    var threads: [(cpuNanoseconds: Double, switches: Int)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.map { task in
            let dir = "/proc/\(pid)/task/\(task)"
            let schedstat = (try? String(contentsOfFile: "\(dir)/schedstat", encoding: .utf8)) ?? ""
            let status = (try? String(contentsOfFile: "\(dir)/status", encoding: .utf8)) ?? ""
            let switches = status.split(separator: "\n")
                .filter { $0.hasPrefix("voluntary_ctxt_switches:") || $0.hasPrefix("nonvoluntary_ctxt_switches:") }
                .compactMap { Int($0.split(separator: "\t").last ?? "") }.reduce(0, +)
            return (Double(schedstat.split(separator: " ").first ?? "") ?? 0, switches)
        }
    }

    /// The highest VmRSS (kB) seen, sampled every 200 ms, until `other` exits.
    func peakRSS(until other: Child) -> Int {
        var peak = 0
        while other.process.isRunning {
            peak = max(peak, memory.rss)
            Thread.sleep(forTimeInterval: 0.2)
        }
        return peak
    }

    /// Bytes this process caused to be written to storage (/proc/PID/io write_bytes).
    var writeBytes: Int {
        let io = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
        let line = io.split(separator: "\n").first { $0.hasPrefix("write_bytes:") }
        return Int(line?.split(separator: " ").last ?? "0") ?? 0
    }

    deinit { if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() } }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw BenchError(description: "no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func accepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// mosquitto on 127.0.0.1:port: unlimited queues for QoS 1 subscribers (a slow counter must not
/// lose messages), TCP_NODELAY, no persistence.
final class BenchBroker {
    let port: Int
    private let dir: String
    private var child: Child?

    init(dir: String, port: Int? = nil) throws {
        self.dir = dir
        self.port = try port ?? freePort()
        try start()
    }

    func start() throws {
        let conf = "\(dir)/broker-\(port).conf"
        try """
            listener \(port) 127.0.0.1
            allow_anonymous true
            max_queued_messages 0
            set_tcp_nodelay true
            \(getuid() == 0 ? "user root" : "")
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        child = try Child("/usr/sbin/mosquitto", ["-c", conf], output: "\(dir)/broker-\(port).log")
        for _ in 0..<200 where !accepts(port) { Thread.sleep(forTimeInterval: 0.02) }
    }

    func stop() {
        child?.signal(SIGKILL)
        child?.wait(timeout: 5)
        child = nil
    }

    deinit { stop() }
}

/// The floor programs and the sensorgate binary.
struct Tools {
    var floorDir: String
    var sensorgate: String
    var workDir: String

    /// bench_sub in the background: counts `n` messages on `filter`.
    func subscriber(port: Int, filter: String, n: Int, quiet: Double = 10, times: String? = nil, name: String) throws -> Child {
        let child = try Child("\(floorDir)/bench_sub", [String(port), filter, String(n), String(quiet)] + (times.map { [$0] } ?? []),
                              output: "\(workDir)/\(name).out")
        for _ in 0..<200 where !child.output.contains("subscribed") { Thread.sleep(forTimeInterval: 0.01) }
        return child
    }

    func publisher(port: Int, topic: String, n: Int, rate: Double = 0, payload: String = "", name: String) throws -> Child {
        try Child("\(floorDir)/bench_pub", [String(port), topic, String(n), String(rate), payload], output: "\(workDir)/\(name).out")
    }

    func relay(port: Int, from: String, to: String, n: Int) throws -> Child {
        let child = try Child("\(floorDir)/bench_relay", [String(port), from, to, String(n)], output: "\(workDir)/relay.out")
        for _ in 0..<200 where !child.output.contains("subscribed") { Thread.sleep(forTimeInterval: 0.01) }
        return child
    }

    func gateway(config: String, name: String) throws -> Child {
        try Child(sensorgate, ["run", "--config", config, "--log-level", "notice"], output: "\(workDir)/\(name).log")
    }

    func run(_ arguments: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: sensorgate)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try? p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// What bench_sub printed: count, first and last arrival (CLOCK_REALTIME s), whether seq rose.
struct Received {
    var count: Int
    var first: Double
    var last: Double
    var inOrder: Bool
    var rate: Double { count > 1 && last > first ? Double(count - 1) / (last - first) : 0 }

    init(_ child: Child, timeout: TimeInterval) throws {
        child.wait(timeout: timeout)
        let words = child.output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let i = words.firstIndex(of: "received"), words.count >= i + 8 else {
            throw BenchError(description: "the subscriber printed no result: \(child.output.suffix(200))")
        }
        count = Int(words[i + 1]) ?? 0
        first = Double(words[i + 3]) ?? 0
        last = Double(words[i + 5]) ?? 0
        inOrder = words[i + 7] == "1"
    }
}
