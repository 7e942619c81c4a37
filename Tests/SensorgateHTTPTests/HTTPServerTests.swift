#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import SensorgateRuntime
@testable import SensorgateHTTP

/// The server on a real loopback socket, on its own thread, driven by raw TCP clients: what
/// curl, browsers and Prometheus do (keep-alive, pipelining, HEAD, event streams), and what a
/// bad or slow client does.
@Suite struct HTTPServerTests {
    /// A running server; stopped (and its thread joined) by `stop()`.
    final class Running: Sendable {
        let port: Int
        let stopSignal = StopSignal()
        let done = Wakeup()
        let statuses = Locked<[Int]>([])

        init(settings: HTTPServer.Settings = .init(), tick: @escaping HTTPServer.Tick = { nil },
             handler: @escaping HTTPServer.Handler = Running.echo) throws {
            let listener = try HTTPListener.bind(host: "127.0.0.1", port: 0)
            port = listener.port
            let (stop, done, statuses) = (stopSignal, self.done, self.statuses)
            try OwnedThread.start(name: "http-test") {
                HTTPServer(listener: listener, settings: settings, stop: stop, handler: handler, tick: tick,
                           observe: { status in statuses.withLock { $0.append(status) } }).run()
                done.signal()
            }
        }

        @Sendable static func echo(_ request: HTTPRequest) -> HTTPReply {
            if request.path == "/events" { return .eventStream(first: serverSentEvent("hello", data: "first")) }
            if request.path == "/missing" { return .response(.text("no such page\n", status: 404)) }
            return .response(.text("\(request.method) \(request.path) \(request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))\n"))
        }

        func stop() async {
            stopSignal.set()
            for _ in 0..<200 where !done.reset() { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// A raw TCP client that never blocks the test's thread for long.
    final class Client {
        let fd: Int32
        var received: [UInt8] = []

        /// `receiveBuffer`: a small SO_RCVBUF, set before connecting so the window stays small.
        init(port: Int, receiveBuffer: Int32? = nil) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if var size = receiveBuffer { _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { throw ClientError.connect(errno) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }

        deinit { close(fd) }

        func write(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        var text: String { String(decoding: received, as: UTF8.self) }

        /// Reads until `predicate(text)` holds, the peer closes, or `timeout` passes; true when
        /// the predicate held.
        @discardableResult
        func read(timeout: Double = 5, until predicate: (String) -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            var buffer = [UInt8](repeating: 0, count: 65536)
            func drain() -> Bool {
                while true {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    if n > 0 { received += buffer[0..<n]; continue }
                    if n == 0 { peerClosed = true }
                    return n == 0
                }
            }
            while ContinuousClock.now < deadline {
                if predicate(text) { return true }
                if drain() { return predicate(text) }
                if predicate(text) { return true }
                try? await Task.sleep(for: .milliseconds(10))
            }
            // What arrived while this task waited for a thread (a full test run starves the
            // cooperative pool for seconds on two cores) counts too.
            _ = drain()
            return predicate(text)
        }

        var peerClosed = false

        /// True once the server has closed the connection (read returns 0).
        func waitForClose(timeout: Double = 5) async -> Bool {
            await read(timeout: timeout) { _ in false }
            return peerClosed
        }
    }

    enum ClientError: Error { case connect(Int32) }

    @Test func answersKeepAliveRequestsOnOneConnectionInOrderIncludingPipelinedOnes() async throws {
        let server = try Running()
        let client = try Client(port: server.port)
        client.write("GET /one?a=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await client.read { $0.contains("GET /one a=1\n") })
        client.write("GET /two HTTP/1.1\r\n\r\nHEAD /three HTTP/1.1\r\n\r\nGET /four HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(await client.waitForClose())
        let text = client.text
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 == 4)
        #expect(text.contains("GET /two \n"))
        #expect(!text.contains("HEAD /three"))  // HEAD: headers only, with the GET's length
        #expect(text.contains("Content-Length: 13\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 OK"))
        #expect(text.hasSuffix("Connection: close\r\n\r\nGET /four \n"))
        await server.stop()
    }

    @Test func refusesOtherMethodsBadRequestsAndSlowRequestsWithTheirStatus() async throws {
        var settings = HTTPServer.Settings()
        settings.requestTimeout = 300
        let server = try Running(settings: settings)
        let post = try Client(port: server.port)
        post.write("POST / HTTP/1.1\r\n\r\n")
        #expect(await post.read { $0.contains("405 Method Not Allowed") && $0.contains("Allow: GET, HEAD") })

        let bad = try Client(port: server.port)
        bad.write("HELLO\r\n\r\n")
        #expect(await bad.waitForClose())
        #expect(bad.text.hasPrefix("HTTP/1.1 400 Bad Request"))

        let slow = try Client(port: server.port)
        slow.write("GET / HTTP/1.1\r\nHost: x\r\n")  // never finished
        #expect(await slow.waitForClose())
        #expect(slow.text.hasPrefix("HTTP/1.1 408 Request Timeout"))
        #expect(server.statuses.value.sorted() == [400, 405, 408])
        await server.stop()
    }

    @Test func feedsEventStreamsEveryTickAndStopClosesThem() async throws {
        var settings = HTTPServer.Settings()
        settings.tickInterval = 50
        let count = Atomic<Int>(0)
        let server = try Running(settings: settings, tick: {
            let n = count.add(1, ordering: .relaxed).newValue
            return serverSentEvent("status", data: "{\"n\":\(n)}")
        })
        let client = try Client(port: server.port)
        client.write("GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")
        #expect(await client.read { $0.contains("event: status\ndata: {\"n\":3}\n\n") })
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"))
        #expect(!client.text.contains("Content-Length"))
        #expect(client.text.contains("\r\n\r\nevent: hello\ndata: first\n\n"))
        await server.stop()
        #expect(await client.waitForClose())
    }

    @Test func aStreamClientThatStopsReadingIsDroppedOthersGoOn() async throws {
        var settings = HTTPServer.Settings()
        settings.tickInterval = 10
        settings.maxStreamBacklog = 64 * 1024
        // 6 MB/s: the kernel's socket buffers (at most 4 MB here) fill within a second or two.
        let chunk = serverSentEvent("status", data: String(repeating: "x", count: 64 * 1024))
        let server = try Running(settings: settings, tick: { chunk })
        let stalled = try Client(port: server.port, receiveBuffer: 4096)
        stalled.write("GET /events HTTP/1.1\r\n\r\n")
        try await Task.sleep(for: .milliseconds(500))  // never reads
        let other = try Client(port: server.port)
        other.write("GET /ping HTTP/1.1\r\n\r\n")
        #expect(await other.read { $0.contains("GET /ping") })
        #expect(await stalled.waitForClose(timeout: 10))
        await server.stop()
    }

    @Test func bindingATakenPortSaysSo() throws {
        let first = try HTTPListener.bind(host: "127.0.0.1", port: 0)
        defer { first.close() }
        #expect(first.address == "127.0.0.1:\(first.port)")
        do {
            _ = try HTTPListener.bind(host: "127.0.0.1", port: first.port)
            Issue.record("a second bind succeeded")
        } catch {
            #expect(error.description.hasPrefix("cannot listen on 127.0.0.1:\(first.port): Address already in use"))
        }
        #expect(throws: HTTPListenError.self) { try HTTPListener.bind(host: "203.0.113.7", port: 0) }
        let v6 = try HTTPListener.bind(host: "::1", port: 0)
        #expect(v6.address == "[::1]:\(v6.port)")
        v6.close()
    }
}
