// A plain HTTP/1.1 GET over a loopback socket, for the tests that look into a running gateway.
// It never blocks a thread of the cooperative pool: the socket is non-blocking and the wait
// suspends.

import Foundation

struct HTTPGetResponse {
    var status: Int
    var headers: [String: String]
    var body: String

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
}

enum HTTPGet {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func get(port: Int, _ path: String, headers: [String: String] = [:], timeout: Double = 15) async throws -> HTTPGetResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { received += buffer[0..<n]; continue }
            if n == 0 { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        // What arrived while this task waited for a thread counts too (a loaded run starves the pool).
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { received += buffer[0..<n] } else { break }
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "no complete response from \(path): \(text.prefix(200))") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw Failure(description: "bad status line: \(head.first ?? "")")
        }
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPGetResponse(status: status, headers: fields, body: String(text[split.upperBound...]))
    }
}

/// Prometheus text parsed into samples: `name{a="b",c="d"}` (labels sorted) → value.
struct PrometheusSamples {
    var values: [String: Double] = [:]
    var types: [String: String] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            var series = String(line[..<space])
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                let name = series[..<open]
                let labels = series[series.index(after: open)..<series.index(before: series.endIndex)]
                    .split(separator: ",").map(String.init).sorted()
                series = "\(name){\(labels.joined(separator: ","))}"
            }
            values[series] = value
        }
    }

    subscript(_ series: String) -> Double? { values[series] }

    /// The sum over every series of `name` whose labels include all of `labels` (`k="v"`).
    func sum(_ name: String, _ labels: String...) -> Double {
        values.filter { key, _ in
            (key == name || key.hasPrefix(name + "{")) && labels.allSatisfy { key.contains($0) }
        }.values.reduce(0, +)
    }
}
