// Live latency as a consumer sees it: a libmosquitto client (through the project's own wrapper)
// on a thread of its own publishes MQTT input readings at a steady rate and times each event
// the gateway makes of them on its way back from the broker.

import Foundation
import SensorgateMQTT

final class LatencyProbe: @unchecked Sendable {
    let port: Int
    let inputTopic: String
    let outputFilter: String

    init(port: Int, inputTopic: String, outputFilter: String) {
        self.port = port
        self.inputTopic = inputTopic
        self.outputFilter = outputFilter
    }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Publishes `count` readings at `rate` a second; returns the latencies (ms, sorted) of the
    /// events that came back, paired in order (the k-th event is the k-th reading).
    func measure(rate: Int, count: Int) async -> [Double] {
        await withCheckedContinuation { done in
            Thread.detachNewThread { done.resume(returning: self.run(rate: rate, count: count)) }
        }
    }

    private func run(rate: Int, count: Int) -> [Double] {
        guard let connection = try? MQTTConnection(options: MQTTOptions(host: "127.0.0.1", port: port, clientID: "latency-probe-\(getpid())")) else { return [] }
        var connected = false
        var arrivals: [(seq: UInt64, at: Int64)] = []
        connection.onConnect = { rc in connected = rc == 0 }
        connection.onMessage = { _, payload in
            let text = String(decoding: payload, as: UTF8.self)
            guard let r = text.range(of: "\"seq\":") else { return }
            let digits = text[r.upperBound...].prefix { $0.isNumber }
            if let seq = UInt64(digits) { arrivals.append((seq, LatencyProbe.nowNs())) }
        }
        func turn(_ ms: Int32) {
            var fd = pollfd(fd: connection.socket, events: Int16(POLLIN) | (connection.wantsWrite ? Int16(POLLOUT) : 0), revents: 0)
            _ = poll(&fd, 1, ms)
            _ = connection.loopRead()
            _ = connection.loopWrite()
            _ = connection.loopMisc()
        }
        guard (try? connection.connect()) != nil else { return [] }
        let deadline = Self.nowNs() + 5_000_000_000
        while !connected, Self.nowNs() < deadline { turn(5) }
        guard connected, (try? connection.subscribe(outputFilter, qos: 1)) != nil else { return [] }
        let settle = Self.nowNs() + 300_000_000
        while Self.nowNs() < settle { turn(5) }
        arrivals.removeAll()
        var sent: [Int64] = []
        let interval = 1_000_000_000 / Int64(rate)
        var next = Self.nowNs()
        var lastSend = next
        while sent.count < count || (arrivals.count < count && Self.nowNs() - lastSend < 5_000_000_000) {
            let now = Self.nowNs()
            if sent.count < count, now >= next {
                let payload = Array("{\"temperature\":\(20 + sent.count % 10)}".utf8)
                _ = try? connection.publish(topic: inputTopic, payload: payload, qos: 1, retain: false)
                sent.append(Self.nowNs())
                lastSend = now
                next += interval
                continue
            }
            let wait = sent.count < count ? max(0, (next - now) / 1_000_000) : 5
            turn(Int32(min(wait, 5)))
        }
        connection.disconnect()
        _ = connection.loopWrite()
        var seen = Set<UInt64>()
        let firsts = arrivals.filter { seen.insert($0.seq).inserted }.sorted { $0.seq < $1.seq }
        return zip(sent, firsts).map { Double($1.at - $0) / 1e6 }.sorted()
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}
