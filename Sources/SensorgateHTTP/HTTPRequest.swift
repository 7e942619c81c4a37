// One HTTP/1.1 request as the server hands it to its handler, and the parser that cuts requests
// out of the bytes a connection has received. Only what a status server needs: GET and HEAD,
// no request bodies, headers bounded in size; anything else is a named error the server answers
// with its status code.

public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (`/status?history=1`).
    public var target: String
    /// The target's path, without the query (`/status`).
    public var path: String
    /// The query's parameters, percent-decoded (`+` is a space); the last of a repeated name wins.
    public var query: [String: String]
    /// Header names lower-cased, in the order received.
    public var headers: [(name: String, value: String)]
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    public var keepAlive: Bool

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], keepAlive: Bool = true) {
        self.method = method
        self.target = target
        let (path, query) = Self.split(target)
        self.path = path
        self.query = query
        self.headers = headers
        self.keepAlive = keepAlive
    }

    /// The first value of a header (`name` in lower case).
    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    static func split(_ target: String) -> (String, [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (percentDecoded(target) ?? target, [:]) }
        let path = String(target[..<mark])
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(String(parts[0]), plusIsSpace: true) else { continue }
            query[name] = parts.count > 1 ? percentDecoded(String(parts[1]), plusIsSpace: true) ?? "" : ""
        }
        return (percentDecoded(path) ?? path, query)
    }

    /// `%41` → `A`; nil for a malformed escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: String, plusIsSpace: Bool = false) -> String? {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else { return text }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace: bytes.append(UInt8(ascii: " "))
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why bytes are not a request the server will serve; each is answered with its status and the
/// connection is closed.
public enum HTTPRequestError: Error, Equatable, Sendable {
    /// A malformed request line or header (400).
    case malformed(String)
    /// The request line and headers exceed the limit (431).
    case headersTooLarge
    /// A request with a body (413): nothing here takes one.
    case bodyNotAccepted
    /// Not HTTP/1.0 or HTTP/1.1 (505).
    case versionNotSupported

    public var status: Int {
        switch self {
        case .malformed: 400
        case .headersTooLarge: 431
        case .bodyNotAccepted: 413
        case .versionNotSupported: 505
        }
    }

    public var reason: String {
        switch self {
        case .malformed(let why): "bad request: \(why)"
        case .headersTooLarge: "request headers larger than \(HTTPRequestParser.maxHeaderBytes) bytes"
        case .bodyNotAccepted: "this server takes no request bodies"
        case .versionNotSupported: "only HTTP/1.0 and HTTP/1.1 are served"
        }
    }
}

/// Cuts complete requests from the front of a connection's input.
public enum HTTPRequestParser {
    /// Request line and headers together; a browser sends well under 2 KB.
    public static let maxHeaderBytes = 16 * 1024

    /// The first complete request in `buffer` and how many bytes it took; nil when more bytes
    /// are needed.
    public static func parse(_ buffer: [UInt8]) throws(HTTPRequestError) -> (HTTPRequest, consumed: Int)? {
        guard let end = headerEnd(buffer) else {
            if buffer.count > maxHeaderBytes { throw .headersTooLarge }
            return nil
        }
        if end > maxHeaderBytes { throw .headersTooLarge }
        guard let text = String(validating: buffer[..<end], as: UTF8.self) else { throw .malformed("the header is not UTF-8") }
        // "\r\n" is one Character in Swift: this splits at CRLF only, as HTTP/1.1 wants.
        var lines = text.split(separator: "\r\n" as Character, omittingEmptySubsequences: false)
        // A client may send blank lines before a request (RFC 9112 2.2).
        while lines.first?.isEmpty == true { lines.removeFirst() }
        guard let requestLine = lines.first else { throw .malformed("no request line") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == "/" else {
            throw .malformed("the request line must be METHOD /path HTTP/1.1")
        }
        let version = parts[2]
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            if version.hasPrefix("HTTP/") { throw .versionNotSupported }
            throw .malformed("the request line must end in HTTP/1.1")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { throw .malformed("a header line without a name") }
            let name = line[..<colon]
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else { throw .malformed("whitespace in a header name") }
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers.append((name.lowercased(), String(value)))
        }
        if let length = headers.first(where: { $0.name == "content-length" })?.value {
            guard let n = Int(length), n >= 0 else { throw .malformed("Content-Length is not a number") }
            if n > 0 { throw .bodyNotAccepted }
        }
        if headers.contains(where: { $0.name == "transfer-encoding" }) { throw .bodyNotAccepted }
        let connection = headers.first { $0.name == "connection" }?.value.lowercased() ?? ""
        let keepAlive = version == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
        let request = HTTPRequest(method: String(parts[0]), target: String(parts[1]), headers: headers, keepAlive: keepAlive)
        return (request, end + 4)
    }

    /// Index of the `\r\n\r\n` that ends the header block.
    static func headerEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        let limit = min(buffer.count, maxHeaderBytes + 4) - 3
        var i = 0
        while i < limit {
            if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}
