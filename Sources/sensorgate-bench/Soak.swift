// `make soak DURATION=1h`: the gateway at a few hundred events per second for a long time, with
// its broker restarted every few minutes and the link faulted in between (the torture suite's
// fault proxy), sampling what a leak or a slow drift would show: resident memory (and its slope),
// open file descriptors, threads, p99 latency from an event's time to its arrival at a persistent
// QoS 1 consumer, and events lost (seqs older than a minute that never arrived).

import Foundation

struct SoakSample {
    var minute: Double
    var rssKB: Int
    var fds: Int
    var threads: Int
    var p99ms: Double
    var arrived: Int
    var lost: Int
}

/// Runs the soak for `seconds`; prints a table every five minutes and a summary.
func soak(seconds: Double, tools: Tools, work: String) throws -> [SoakSample] {
    let brokerPort = try freePort()
    let brokerDir = "\(work)/soak-broker"
    try FileManager.default.createDirectory(atPath: brokerDir, withIntermediateDirectories: true)
    let conf = "\(brokerDir)/mosquitto.conf"
    try """
        listener \(brokerPort) 127.0.0.1
        allow_anonymous true
        persistence true
        persistence_location \(brokerDir)/
        autosave_interval 1
        autosave_on_changes true
        max_queued_messages 0
        \(getuid() == 0 ? "user root" : "")
        """.write(toFile: conf, atomically: true, encoding: .utf8)
    var broker: Child? = try Child("/usr/sbin/mosquitto", ["-c", conf], output: "\(brokerDir)/broker.log")
    for _ in 0..<200 where !accepts(brokerPort) { Thread.sleep(forTimeInterval: 0.02) }

    let proxyPort = try freePort()
    let proxyInput = Pipe()
    let proxy = Process()
    proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    proxy.arguments = ["python3", "Tests/Tools/faultproxy.py", String(proxyPort), String(brokerPort)]
    proxy.standardInput = proxyInput
    proxy.standardOutput = FileHandle.nullDevice
    try proxy.run()
    defer { proxy.terminate() }
    func fault(_ command: String) { try? proxyInput.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8)) }
    for _ in 0..<200 where !accepts(proxyPort) { Thread.sleep(forTimeInterval: 0.02) }

    let arrivals = "\(work)/soak-arrivals"
    let consumer = try Child("/usr/bin/mosquitto_sub", ["-p", String(brokerPort), "-t", "sensorgate/soak/#", "-q", "1", "-c",
                                                        "-i", "soak-consumer", "-F", "%U %p"], output: arrivals)
    defer { consumer.signal(SIGKILL) }
    Thread.sleep(forTimeInterval: 0.5)

    let config = "\(work)/soak.yaml"
    try """
        gateway: { id: soak, state_dir: \(work)/state-soak }
        mqtt: { url: "mqtt://127.0.0.1:\(proxyPort)", keepalive: 10s, ack_timeout: 5s }
        devices:
        \((0..<4).map { "  - { id: sim-\($0), adapter: simulated, kind: temperature, interval: 10ms }" }.joined(separator: "\n"))
          - { id: hall, adapter: simulated, kind: motion, rate: 2 }
        \(twentyRules((0..<4).map { "sim-\($0)" }))
        """.write(toFile: config, atomically: true, encoding: .utf8)
    let gateway = try tools.gateway(config: config, name: "soak")
    defer { if gateway.process.isRunning { gateway.signal(SIGTERM); gateway.wait(timeout: 30) } }

    let start = Date()
    var samples: [SoakSample] = []
    var nextBrokerRestart = 180 + Double.random(in: 0...120)
    var nextFault = 60 + Double.random(in: 0...60)
    var seen = Set<UInt64>()
    var readOffset: UInt64 = 0
    var latencies: [Double] = []
    var highest: UInt64 = 0
    note("soak: \(Int(seconds)) s, broker on \(brokerPort) behind the fault proxy on \(proxyPort)")
    print(pad("minute", 8) + lpad("RSS MB", 10) + lpad("fds", 6) + lpad("threads", 9) + lpad("p99 ms", 10) + lpad("arrived", 10) + lpad("lost", 7))
    while Date().timeIntervalSince(start) < seconds {
        Thread.sleep(forTimeInterval: 10)
        let t = Date().timeIntervalSince(start)
        if t >= nextBrokerRestart {
            broker?.signal(Bool.random() ? SIGKILL : SIGTERM)
            broker?.wait(timeout: 10)
            Thread.sleep(forTimeInterval: Double.random(in: 1...5))
            broker = try Child("/usr/sbin/mosquitto", ["-c", conf], output: "\(brokerDir)/broker.log")
            nextBrokerRestart = t + 180 + Double.random(in: 0...120)
        }
        if t >= nextFault {
            let episode = ["stall", "slice", "delay 200", "drop"].randomElement()!
            fault(episode)
            Thread.sleep(forTimeInterval: episode == "drop" ? 0.2 : Double.random(in: 2...8))
            if episode == "stall" { fault("drop") }
            fault("pass")
            nextFault = t + 60 + Double.random(in: 0...60)
        }
        // New arrivals: "unix-time payload" lines.
        if let handle = FileHandle(forReadingAtPath: arrivals) {
            try? handle.seek(toOffset: readOffset)
            let data = (try? handle.readToEnd()) ?? Data()
            try? handle.close()
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.lastIndex(of: "\n") else { continue }
            readOffset += UInt64(text[...end].utf8.count)
            for line in text[..<end].split(separator: "\n") {
                guard let space = line.firstIndex(of: " "), let arrived = Double(line[..<space]),
                      let seqRange = line.range(of: "\"seq\":"), let timeRange = line.range(of: "\"time\":\"") else { continue }
                let seq = UInt64(line[seqRange.upperBound...].prefix { $0.isNumber }) ?? 0
                let stamp = String(line[timeRange.upperBound...].prefix { $0 != "\"" })
                if seen.insert(seq).inserted, let sent = iso8601(stamp), !line.contains("\"type\":\"Alert"), !line.contains("Thermostat") {
                    latencies.append((arrived - sent) * 1000)
                }
                highest = max(highest, seq)
            }
        }
        let lost = highest > 6_000 ? (1...(highest - 6_000)).filter { !seen.contains($0) }.count : 0
        let memory = gateway.memory
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(gateway.pid)/fd").count) ?? 0
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(gateway.pid)/task").count) ?? 0
        let recent = latencies.suffix(24_000).sorted()
        let p99 = recent.isEmpty ? .infinity : recent[min(recent.count - 1, Int(Double(recent.count) * 0.99))]
        let sample = SoakSample(minute: t / 60, rssKB: memory.rss, fds: fds, threads: threads, p99ms: p99, arrived: seen.count, lost: lost)
        samples.append(sample)
        if latencies.count > 200_000 { latencies.removeFirst(latencies.count - 50_000) }
        if samples.count % 30 == 0 || t >= seconds - 10 {
            print(pad(String(format: "%.0f", sample.minute), 8) + lpad(String(format: "%.1f", Double(sample.rssKB) / 1024), 10)
                  + lpad("\(fds)", 6) + lpad("\(threads)", 9) + lpad(String(format: "%.1f", p99), 10) + lpad("\(seen.count)", 10) + lpad("\(lost)", 7))
        }
    }
    gateway.signal(SIGTERM)
    gateway.wait(timeout: 60)
    broker?.signal(SIGTERM)
    return samples
}

/// The warm-up a soak's figures leave out: the first ten minutes, or the first fifth of a run
/// shorter than 50 minutes (a 10-minute run skipping ten minutes had no samples left to report).
func warmUpMinutes(_ samples: [SoakSample]) -> Double {
    min(10, (samples.last?.minute ?? 0) / 5)
}

/// The samples after the warm-up.
func steadySamples(_ samples: [SoakSample]) -> [SoakSample] {
    let warmUp = warmUpMinutes(samples)
    return samples.filter { $0.minute >= warmUp }
}

/// RSS slope in MB per hour over the samples after the warm-up.
func slope(_ samples: [SoakSample]) -> Double {
    let steady = steadySamples(samples)
    guard steady.count > 2 else { return 0 }
    let n = Double(steady.count)
    let xs = steady.map(\.minute), ys = steady.map { Double($0.rssKB) / 1024 }
    let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
    let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
    let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
    return sxx > 0 ? sxy / sxx * 60 : 0
}

private func iso8601(_ text: String) -> Double? {
    // 2026-11-27T05:12:03.123Z
    let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
    guard parts.count >= 6, let y = Int(parts[0]), let mo = Int(parts[1]), let d = Int(parts[2]), let h = Int(parts[3]),
          let mi = Int(parts[4]), let s = Double(parts[5]) else { return nil }
    var c = DateComponents()
    (c.year, c.month, c.day, c.hour, c.minute, c.second) = (y, mo, d, h, mi, 0)
    c.timeZone = TimeZone(identifier: "UTC")
    guard let date = Calendar(identifier: .gregorian).date(from: c) else { return nil }
    return date.timeIntervalSince1970 + s
}
