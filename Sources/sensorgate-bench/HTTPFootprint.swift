// What `http:` costs in memory: Config/demo.yaml idle with the http section removed and with it,
// the second after the status page's traffic (scrapes of every endpoint, the page, an event
// stream held open). Alternating runs, so the machine's mood falls on both sides alike; the
// median of each side and the difference, against issue 12's budget of 3 MB.

import Foundation

/// `demo` without its top-level `http:` section (and what is indented under it).
func withoutHTTP(_ demo: String) -> String {
    var out: [Substring] = [], skipping = false
    for line in demo.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("http:") { skipping = true; continue }
        if skipping, let first = line.first, first != " ", first != "#" { skipping = false }
        if !skipping { out.append(line) }
    }
    return out.joined(separator: "\n")
}

/// One GET over loopback; the status code, or nil. `hold`: keep reading this long (an event stream).
@discardableResult
func httpGet(port: Int, _ path: String, hold: TimeInterval = 0) -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
    guard ok else { return nil }
    let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    // A response ends when the server closes (Connection: close); a stream is read for `hold`.
    let until = Date().addingTimeInterval(hold > 0 ? hold : 5)
    while Date() < until {
        let n = read(fd, &buffer, buffer.count)
        if n > 0 { received += buffer[0..<n] } else if n == 0 { break }
    }
    let head = String(decoding: received.prefix(12), as: UTF8.self)
    return Int(head.dropFirst(9).prefix(3))
}

/// (off, on) idle RSS in kB, one run each.
@MainActor
func httpFootprintRun(demo: String, tools: Tools, work: String, brokerPort: Int, run: Int) throws -> (off: Int, on: Int) {
    let base = withoutHTTP(demo)
        .replacingOccurrences(of: "mqtt://127.0.0.1:18830", with: "mqtt://127.0.0.1:\(brokerPort)")
    var results: [Int] = []
    for on in [false, true] {
        let name = "http-\(on ? "on" : "off")-\(run)"
        let httpPort = try freePort()
        let text = base.replacingOccurrences(of: "state_dir: ../var/demo", with: "state_dir: \(work)/state-\(name)")
            + (on ? "\nhttp: { listen: \"127.0.0.1:\(httpPort)\" }\n" : "\n")
        let path = "\(work)/\(name).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let gateway = try Child(tools.sensorgate, ["run", "--config", path, "--log-level", "notice"], output: "\(work)/\(name).log")
        Thread.sleep(forTimeInterval: 3)
        if on {
            // What a Prometheus scrape and an open status page do, then idle again.
            for _ in 0..<20 { for p in ["/metrics", "/healthz", "/status?history=1", "/"] { httpGet(port: httpPort, p) } }
            httpGet(port: httpPort, "/events", hold: 5)
        } else {
            Thread.sleep(forTimeInterval: 5)
        }
        Thread.sleep(forTimeInterval: 2)
        results.append(gateway.memory.rss)
        gateway.signal(SIGTERM)
        gateway.wait(timeout: 30)
    }
    return (results[0], results[1])
}

@MainActor
func httpFootprint(tools: Tools, work: String, brokerPort: Int, runs: Int) throws -> [Result] {
    let demo = try String(contentsOfFile: "Config/demo.yaml", encoding: .utf8)
    var off: [Int] = [], on: [Int] = []
    for run in 0..<runs {
        let (a, b) = try httpFootprintRun(demo: demo, tools: tools, work: work, brokerPort: brokerPort, run: run)
        off.append(a)
        on.append(b)
    }
    func median(_ xs: [Int]) -> Double { let s = xs.sorted(); return Double(s[s.count / 2]) / 1024 }
    func range(_ xs: [Int]) -> String { String(format: "%.1f-%.1f MB over %d runs", Double(xs.min()!) / 1024, Double(xs.max()!) / 1024, xs.count) }
    let deltas = zip(off, on).map { $1 - $0 }
    return [
        Result(name: "memory, Config/demo.yaml idle, http off (RSS)", figure: median(off), unit: "MB", target: 20, comparison: .atMost,
               detail: range(off)),
        Result(name: "memory, Config/demo.yaml idle, http on, after page and scrapes (RSS)", figure: median(on), unit: "MB", target: 20,
               comparison: .atMost, detail: range(on)),
        Result(name: "memory cost of http (on − off, median)", figure: median(deltas), unit: "MB", target: 3, comparison: .atMost,
               detail: "per run: " + deltas.map { String(format: "%+.1f", Double($0) / 1024) }.joined(separator: ", ") + " MB"),
    ]
}
