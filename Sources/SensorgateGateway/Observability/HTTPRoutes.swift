// What the gateway serves over HTTP, on the HTTP server's thread:
//
//   GET /metrics   Prometheus text format (0.0.4)
//   GET /healthz   200 {"status":"ok"} or 503 with the reasons (HealthPolicy)
//   GET /status    JSON: version, uptime, uplink, buffer, devices, thermostats, alerts
//                  (`?history=1`: each device's last hour too)
//   GET /          the status page (StatusPage), live through
//   GET /events    Server-Sent Events: `history` at once and every 30 s, `status` every second
//
// With a token configured every request needs it, as `Authorization: Bearer TOKEN` or, for a
// browser (EventSource cannot send headers), `?token=TOKEN`; else 401.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CoreMetrics
import SensorgateCore
import SensorgateHTTP
import SensorgateMQTT
import SensorgateRuntime
import Synchronization

/// The settings a reload may change while the server runs.
struct HTTPAccess: Sendable {
    var token: String?
    var uplinkDownAfter: Duration
}

final class HTTPRoutes: Sendable {
    let board: StatusBoard
    let metrics: GatewayMetrics
    let access: Locked<HTTPAccess>
    private let ticks = Atomic<Int>(0)

    init(board: StatusBoard, metrics: GatewayMetrics, access: HTTPAccess) {
        self.board = board
        self.metrics = metrics
        self.access = Locked(access)
    }

    func handle(_ request: HTTPRequest) -> HTTPReply {
        let access = self.access.value
        if let token = access.token, !Self.authorized(request, token: token) {
            var response = HTTPResponse.json(Array("{\"error\":\"unauthorized\",\"message\":\"send the token as 'Authorization: Bearer TOKEN' (or ?token=TOKEN from a browser)\"}".utf8),
                                             status: 401)
            response.headers.append(("WWW-Authenticate", "Bearer realm=\"sensorgate\""))
            return .response(response)
        }
        switch request.path {
        case "/metrics":
            refreshScrapeGauges()
            return .response(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                          body: metrics.exposition()))
        case "/healthz":
            let problems = health(access)
            return .response(.json(StatusDocument.bytes(StatusDocument.healthValue(problems)), status: problems.isEmpty ? 200 : 503))
        case "/status":
            let history = request.query["history"].map { $0 != "0" && $0 != "false" } ?? false
            return .response(.json(statusBytes(access, history: history)))
        case "/", "/index.html":
            return .response(HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"),
                                                                 ("Content-Security-Policy", StatusPage.contentSecurityPolicy)],
                                          body: StatusPage.html))
        case "/events":
            let now = WallClock.now()
            var first = Array("retry: 2000\n\n".utf8)
            first += serverSentEvent("history", data: StatusDocument.bytes(StatusDocument.histories(board.pipeline, now: now)).string)
            first += serverSentEvent("status", data: statusBytes(access, history: false).string)
            return .eventStream(first: first)
        default:
            return .response(.json(Array("{\"error\":\"not found\",\"paths\":[\"/\",\"/metrics\",\"/healthz\",\"/status\",\"/events\"]}".utf8), status: 404))
        }
    }

    /// Every second while a page is open: the status; every 30 s the histories as well (a new
    /// sparkline bucket has begun).
    func tick() -> [UInt8]? {
        let access = self.access.value
        let n = ticks.add(1, ordering: .relaxed).newValue
        var bytes: [UInt8] = []
        if n % Int(ReadingHistory.bucketSeconds) == 0 {
            bytes += serverSentEvent("history", data: StatusDocument.bytes(StatusDocument.histories(board.pipeline, now: WallClock.now())).string)
        }
        bytes += serverSentEvent("status", data: statusBytes(access, history: false).string)
        return bytes
    }

    func observe(_ status: Int) { metrics.httpResponses[status]?.increment() }

    // MARK: Pieces

    private func statusBytes(_ access: HTTPAccess, history: Bool) -> [UInt8] {
        let pipeline = board.pipeline, uplink = board.uplink?.snapshot
        let downFor = downFor(uplink)
        let problems = HealthPolicy(uplinkDownAfter: access.uplinkDownAfter.milliseconds)
            .problems(pipeline: pipeline, uplink: uplink, downFor: downFor, tickerSilentFor: WallClock.bootMilliseconds() - board.lastTick)
        return StatusDocument.bytes(StatusDocument.status(board: board, pipeline: pipeline, uplink: uplink, health: problems,
                                                          now: WallClock.now(), nowBoot: WallClock.bootMilliseconds(),
                                                          downFor: downFor, history: history))
    }

    func health(_ access: HTTPAccess) -> [HealthProblem] {
        let uplink = board.uplink?.snapshot
        return HealthPolicy(uplinkDownAfter: access.uplinkDownAfter.milliseconds)
            .problems(pipeline: board.pipeline, uplink: uplink, downFor: downFor(uplink),
                      tickerSilentFor: WallClock.bootMilliseconds() - board.lastTick)
    }

    private func downFor(_ uplink: UplinkStatus?) -> Int64? {
        guard let uplink, !uplink.connected, let since = uplink.downSince else { return nil }
        return max(0, MQTTSession.now() - since)
    }

    /// Values read when scraped: the oldest buffered event's age, resident memory.
    private func refreshScrapeGauges() {
        let oldest = board.uplink?.snapshot.oldest
        let now = WallClock.now().millisecondsSinceEpoch
        metrics.bufferOldestAge.record(oldest.map { Double(max(0, now - $0.millisecondsSinceEpoch)) / 1000 } ?? 0)
        if let rss = Self.residentBytes() { metrics.residentMemory.record(Double(rss)) }
    }

    /// VmRSS from /proc/self/statm (pages × page size).
    static func residentBytes() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The bearer token, or `?token=` (a browser's EventSource cannot send headers), compared
    /// in constant time.
    static func authorized(_ request: HTTPRequest, token: String) -> Bool {
        var offered: String? = request.query["token"]
        if let header = request.header("authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { offered = String(parts[1]) }
        }
        guard let offered else { return false }
        let a = Array(offered.utf8), b = Array(token.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count { difference |= (i < a.count ? a[i] : 0) ^ b[i] }
        return difference == 0
    }
}

extension Array where Element == UInt8 {
    var string: String { String(decoding: self, as: UTF8.self) }
}
