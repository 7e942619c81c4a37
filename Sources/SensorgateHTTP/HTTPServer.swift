// A small HTTP/1.1 server for a small board: one thread of ours, one poll(2) over the listening
// socket, the connections and a stop wake-up; keep-alive and pipelining, GET and HEAD, and
// Server-Sent Events streams fed once a tick. No thread pool and no event loop group: idle, it
// costs one sleeping thread and the few kilobytes of its buffers (README, "Looking inside").
//
// Every limit is explicit: connections, header size, the time a request may take to arrive, the
// time an idle keep-alive connection is kept, and how far a slow event-stream client may fall
// behind before it is dropped (browsers reconnect by themselves).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateRuntime

public final class HTTPServer {
    public struct Settings: Sendable {
        public var maxConnections = 64
        /// A request whose headers have not all arrived this long after its first byte: 408.
        public var requestTimeout: Int64 = 10_000
        /// A keep-alive connection with no request for this long is closed.
        public var idleTimeout: Int64 = 60_000
        /// Unsent event-stream bytes beyond this: the client is too slow and is dropped.
        public var maxStreamBacklog = 256 * 1024
        /// How often `tick` feeds the event streams.
        public var tickInterval: Int64 = 1_000
        public init() {}
    }

    public typealias Handler = @Sendable (HTTPRequest) -> HTTPReply
    /// The bytes every open event stream gets this tick (nil: nothing new). Called only while a
    /// stream is open.
    public typealias Tick = @Sendable () -> [UInt8]?

    private final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        var closeAfterWrite = false
        var streaming = false
        var closed = false
        var lastActivity: Int64
        /// When the first byte of a request not yet complete arrived.
        var requestStarted: Int64? = nil

        init(fd: Int32, now: Int64) {
            self.fd = fd
            lastActivity = now
        }

        var pending: Int { output.count - sent }
    }

    private let listener: HTTPListener
    private let handler: Handler
    private let tick: Tick
    private let observe: @Sendable (Int) -> Void
    private let stop: StopSignal
    private let settings: Settings
    private var connections: [Connection] = []
    private var nextTick: Int64 = 0
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// `observe` hears the status of every response sent (the handler's and the server's own
    /// 400s, 408s…), for counting.
    public init(listener: HTTPListener, settings: Settings = Settings(), stop: StopSignal, handler: @escaping Handler,
                tick: @escaping Tick = { nil }, observe: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.listener = listener
        self.settings = settings
        self.stop = stop
        self.handler = handler
        self.tick = tick
        self.observe = observe
    }

    /// Serves until `stop` is set; then closes every connection and the listener.
    public func run() {
        nextTick = Self.now() + settings.tickInterval
        while !stop.isSet {
            let now = Self.now()
            var fds = [pollfd(fd: stop.wakeup.fd, events: Int16(POLLIN), revents: 0)]
            let listening = connections.count < settings.maxConnections
            if listening { fds.append(pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)) }
            for c in connections {
                var events: Int16 = c.closeAfterWrite ? 0 : Int16(POLLIN)
                if c.pending > 0 { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: c.fd, events: events, revents: 0))
            }
            var n: Int32
            repeat { n = poll(&fds, nfds_t(fds.count), Int32(clamping: max(0, wakeAt(now) - now))) } while n < 0 && errno == EINTR
            if stop.isSet { break }
            let first = listening ? 2 : 1
            let current = connections
            for (i, c) in current.enumerated() {
                let revents = fds[first + i].revents
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { receive(c) }
                if revents & Int16(POLLOUT) != 0, !c.closed { flush(c) }
            }
            if listening, fds[1].revents & Int16(POLLIN) != 0 { acceptAll() }
            expire(at: Self.now())
            feedStreams()
            connections.removeAll { $0.closed }
        }
        for c in connections { Glibc.close(c.fd) }
        connections.removeAll()
        listener.close()
    }

    // MARK: Connections

    private func acceptAll() {
        while connections.count < settings.maxConnections {
            let fd = accept(listener.fd, nil, nil)
            if fd < 0 { return }  // EAGAIN: all taken; anything else: try again next turn
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.append(Connection(fd: fd, now: Self.now()))
        }
    }

    private func receive(_ c: Connection) {
        var total = 0
        while total < 64 * 1024 {
            let n = readBuffer.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                total += n
                // An event stream sends nothing worth reading; only its end matters.
                if !c.streaming, !c.closeAfterWrite { c.input.append(contentsOf: readBuffer[0..<n]) }
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
            close(c)  // 0: the client closed; < 0: reset
            return
        }
        if !c.input.isEmpty {
            c.lastActivity = Self.now()
            if c.requestStarted == nil { c.requestStarted = c.lastActivity }
        }
        serve(c)
    }

    /// Answers every complete request in the input, in order (pipelining).
    private func serve(_ c: Connection) {
        while !c.streaming, !c.closeAfterWrite, !c.closed, !c.input.isEmpty {
            let parsed: (HTTPRequest, consumed: Int)?
            do {
                parsed = try HTTPRequestParser.parse(c.input)
            } catch {
                c.input.removeAll()
                send(HTTPResponse.text(error.reason + "\n", status: error.status), to: c, head: false, keepAlive: false)
                break
            }
            guard let (request, consumed) = parsed else { break }
            c.input.removeFirst(consumed)
            c.requestStarted = c.input.isEmpty ? nil : Self.now()
            guard request.method == "GET" || request.method == "HEAD" else {
                var response = HTTPResponse.text("only GET and HEAD are served\n", status: 405)
                response.headers.append(("Allow", "GET, HEAD"))
                send(response, to: c, head: false, keepAlive: request.keepAlive)
                continue
            }
            switch handler(request) {
            case .response(let response):
                send(response, to: c, head: request.method == "HEAD", keepAlive: request.keepAlive)
            case .eventStream(let first):
                let head = HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                                                               ("X-Accel-Buffering", "no")])
                c.output += head.head(keepAlive: true, contentLength: nil)
                observe(200)
                if request.method == "HEAD" {
                    c.closeAfterWrite = true
                } else {
                    c.output += first
                    c.streaming = true
                    c.input.removeAll()
                }
            }
        }
        flush(c)
    }

    private func send(_ response: HTTPResponse, to c: Connection, head: Bool, keepAlive: Bool) {
        c.output += response.head(keepAlive: keepAlive, contentLength: response.body.count)
        if !head { c.output += response.body }
        if !keepAlive { c.closeAfterWrite = true }
        observe(response.status)
    }

    private func flush(_ c: Connection) {
        while c.pending > 0 {
            let n = c.output.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress! + c.sent, c.pending, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                c.sent += n
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
            close(c)
            return
        }
        if c.pending == 0 {
            // Let go of a large response's memory once it is out.
            c.output = []
            c.sent = 0
            if c.closeAfterWrite { close(c) }
        } else if c.sent > 64 * 1024 {
            c.output.removeFirst(c.sent)
            c.sent = 0
        }
    }

    private func close(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        Glibc.close(c.fd)
    }

    // MARK: Time

    /// The next tick while a stream is open, else the nearest timeout: an idle server sleeps.
    private func wakeAt(_ now: Int64) -> Int64 {
        var next = connections.contains { $0.streaming } ? nextTick : now + 3_600_000
        for c in connections where !c.streaming {
            if let started = c.requestStarted { next = min(next, started + settings.requestTimeout) }
            next = min(next, c.lastActivity + settings.idleTimeout)
        }
        return next
    }

    private func expire(at now: Int64) {
        for c in connections where !c.closed && !c.streaming {
            if let started = c.requestStarted, now - started >= settings.requestTimeout, !c.closeAfterWrite {
                c.input.removeAll()
                send(.text("the request did not arrive within \(settings.requestTimeout / 1000) s\n", status: 408), to: c, head: false, keepAlive: false)
                flush(c)
            } else if c.pending == 0, c.requestStarted == nil, now - c.lastActivity >= settings.idleTimeout {
                close(c)
            }
        }
    }

    private func feedStreams() {
        let now = Self.now()
        guard now >= nextTick else { return }
        nextTick = now + settings.tickInterval
        let streams = connections.filter { $0.streaming && !$0.closed }
        guard !streams.isEmpty, let bytes = tick() else { return }
        for c in streams {
            if c.pending + bytes.count > settings.maxStreamBacklog {
                close(c)
                continue
            }
            c.output += bytes
            flush(c)
        }
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
