import Foundation
import Testing

/// Event history and replays against a real mosquitto, real SQLite files and the real binary.
@Suite(.serialized) struct ReplayTests {
    static func config(_ dir: TemporaryDirectory, port: Int, history: String = "history: { keep: 1h, max_bytes: 16MB }",
                       devices: String? = nil, extra: String = "") throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(port)", max_inflight: 20 }
            \(history)
            devices:
            \(devices ?? "  - { id: living, adapter: simulated, kind: temperature, interval: 5ms, location: living room }")
            \(extra)
            """)
    }

    static func publish(_ port: Int, _ topic: String, _ message: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        p.arguments = ["-p", String(port), "-t", topic, "-m", message, "-q", "1"]
        try p.run()
        p.waitUntilExit()
    }

    static func stats(_ config: URL) async throws -> [String: Any] {
        // The gateway creates buffer.db at its start: until then, stats has nothing to read.
        var (status, text) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        for _ in 0..<50 where status != 0 {
            await pause(0.1)
            (status, text) = try await runSensorgate(["buffer", "stats", "--config", config.path])
        }
        #expect(status == 0, "\(text)")
        let line = text.split(separator: "\n").last.map(String.init) ?? "{}"
        return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }

    static func number(_ stats: [String: Any], _ key: String) -> Int64 { (stats[key] as? NSNumber)?.int64Value ?? -1 }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The consumer missed 100-200: it asks, gets exactly those events in seq order, each byte for
    /// byte as first published apart from the `replay` extension, then `done`.
    @Test func aConsumerThatMissedSeqs100To200GetsExactlyThoseThenDone() async throws {
        let broker = try Broker()
        let archive = try Subscriber(port: broker.port, filter: "sensorgate/test-gw/TemperatureReading/#", id: "archive")
        let healer = try Subscriber(port: broker.port, filter: "sensorgate/test-gw/replay/heal/#", id: "healer")
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, archive, healer, dir)) {} }
        let config = try Self.config(dir, port: broker.port)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await archive.waitFor { ($0.seqs.max() ?? 0) >= 260 })
        // Once 200 is in the history (acknowledged and committed), ask.
        var kept: Int64 = 0
        for _ in 0..<100 where kept < 200 {
            kept = Self.number(try await Self.stats(config), "history_newest_seq")
            await pause(0.1)
        }
        try Self.publish(broker.port, "sensorgate/test-gw/replay/request", #"{"id":"heal","from_seq":100,"to_seq":200}"#)
        #expect(await healer.waitFor { $0.messages.contains { $0.topic.hasSuffix("/done") } })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)

        let originals = Dictionary(archive.messages.map { (Self.json($0.payload)["seq"] as? Int ?? 0, $0.payload) }, uniquingKeysWith: { a, _ in a })
        let answer = healer.messages
        let replayed = answer.dropLast()
        #expect(replayed.count == 101)
        #expect(replayed.map { Self.json($0.payload)["seq"] as? Int ?? 0 } == Array(100...200))
        for message in replayed {
            #expect(message.topic == "sensorgate/test-gw/replay/heal/TemperatureReading/living")
            #expect(message.payload.hasSuffix(#","replay":"heal"}"#))
            let original = message.payload.replacingOccurrences(of: #","replay":"heal""#, with: "")
            let seq = Self.json(message.payload)["seq"] as? Int ?? 0
            #expect(original == originals[seq], "seq \(seq) differs from what was first published")
        }
        let done = try #require(answer.last)
        #expect(done.topic == "sensorgate/test-gw/replay/heal/done")
        let report = Self.json(done.payload)
        #expect(report["status"] as? String == "complete")
        #expect(report["sent"] as? Int == 101)
        #expect(report["first_seq"] as? Int == 100 && report["last_seq"] as? Int == 200)
        #expect(report["missing"] as? Int == 0)
        #expect(report["pruned"] is NSNull)
        #expect(gateway.output.contains("replay heal: complete, 101 event(s) (seq 100 to 200)"))
    }

    /// Requests beyond the history, malformed or too large are answered with a `done` saying why.
    @Test func badRequestsGetADoneWithTheReason() async throws {
        let broker = try Broker()
        let answers = try Subscriber(port: broker.port, filter: "sensorgate/test-gw/replay/+/done", id: "answers")
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, answers, dir)) {} }
        let config = try Self.config(dir, port: broker.port, history: "history: { max_bytes: 64KB, replay_max_events: 50 }",
                                     devices: "  - { id: living, adapter: simulated, kind: temperature, interval: 2ms }")
        let gateway = try GatewayProcess(["run", "--config", config.path])
        var pruned: Int64 = 0
        for _ in 0..<200 where pruned < 100 {
            pruned = Self.number(try await Self.stats(config), "history_pruned")
            await pause(0.1)
        }
        #expect(pruned >= 100, "the history never pruned")
        let requests = [
            #"{"id":"beyond","from_seq":100000000}"#,
            #"{"id":"gone","from_seq":1,"to_seq":20}"#,
            #"{"id":"big","from_seq":1}"#,
            #"{"id":"typo","from":1}"#,
            #"{"id":"window","since":"2001-01-01T00:00:00Z","until":"2001-01-02T00:00:00Z"}"#,
            #"not json at all"#,
        ]
        for request in requests { try Self.publish(broker.port, "sensorgate/test-gw/replay/request", request) }
        #expect(await answers.waitFor { $0.messages.count >= requests.count })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        var byID: [String: [String: Any]] = [:]
        for message in answers.messages { byID[message.topic.split(separator: "/")[3].description] = Self.json(message.payload) }
        func reason(_ id: String) -> String { byID[id]?["reason"] as? String ?? "(no answer)" }
        for id in ["beyond", "gone", "big", "typo", "window", "_invalid"] {
            #expect(byID[id]?["status"] as? String == "refused", "\(id): \(byID[id] ?? [:])")
            #expect(byID[id]?["sent"] as? Int == 0)
        }
        #expect(reason("beyond").hasPrefix("nothing to replay: from_seq 100000000 is above the newest delivered event; the history holds seq "))
        #expect(reason("gone").hasPrefix("seq 1 to 20 were pruned: the history holds seq "))
        #expect((byID["gone"]?["pruned"] as? [String: Any])?["to_seq"] as? Int == 20)
        #expect(reason("big").contains("at most 50 per request (history.replay_max_events)"))
        #expect(reason("typo") == "unknown key 'from' (a request has id, from_seq, to_seq, since, until, type, subject)")
        #expect(reason("window").hasPrefix("no kept event has a time in the window"))
        #expect(reason("_invalid").hasPrefix("the request is not JSON"))
    }

    /// A long run at a high rate with a small history: it stays within max_bytes, keeps one
    /// stretch of the newest seqs, and its file stops growing once pruning has caught up.
    @Test func theHistoryStaysWithinItsBoundsUnderALongRun() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["SENSORGATE_HISTORY_RUN_SECONDS"] ?? "") ?? 20
        let broker = try Broker()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let maxBytes: Int64 = 64 << 10
        let config = try Self.config(dir, port: broker.port, history: "history: { max_bytes: 64KB }",
                                     devices: (0..<2).map { "  - { id: s\($0), adapter: simulated, kind: temperature, interval: 1ms }" }.joined(separator: "\n"))
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "notice"])
        let file = dir.url.appendingPathComponent("state/buffer.db").path
        func size(_ path: String) -> Int64 { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0 }
        var samples: [(bytes: Int64, events: Int64, oldest: Int64, newest: Int64, pruned: Int64, file: Int64, wal: Int64)] = []
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            await pause(1)
            let s = try await Self.stats(config)
            samples.append((Self.number(s, "history_bytes"), Self.number(s, "history_events"), Self.number(s, "history_oldest_seq"),
                            Self.number(s, "history_newest_seq"), Self.number(s, "history_pruned"), size(file), size(file + "-wal")))
        }
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let last = try #require(samples.last)
        #expect(last.pruned > 10 * last.events, "only \(last.pruned) pruned in \(seconds) s: the run was too slow to test the bound")
        for s in samples {
            #expect(s.bytes <= maxBytes, "history at \(s.bytes) bytes, over its max_bytes")
            if s.events > 0 { #expect(s.newest - s.oldest + 1 == s.events, "the history is not one stretch of seqs") }
        }
        // The file: pages freed by pruning are reused, so once the history is full it stops
        // growing; the WAL is checkpointed beside the forwarder (at 1 MB), and by the forwarder
        // itself at 16 MB when that falls behind, then cut back to 4 MB.
        let early = samples.prefix(samples.count / 2).map(\.file).max() ?? 0
        let late = samples.dropFirst(samples.count / 2).map(\.file).max() ?? 0
        let wal = samples.map(\.wal).max() ?? 0
        #expect(late <= max(early * 5 / 4, 1 << 20), "buffer.db grew from \(early) to \(late) bytes")
        #expect(wal <= 32 << 20, "the WAL reached \(wal) bytes: checkpoints fell behind")
        Console.note("history long run: \(Int(seconds)) s, \(last.newest) events, \(last.pruned) pruned; history \(last.bytes) bytes (max_bytes \(maxBytes)); buffer.db at most \(late) bytes, its WAL at most \(wal) bytes")
    }

    /// `sensorgate replay --print` is input for `rules test`; `--publish` sends the same events
    /// again to their live topics with the `replay` extension.
    @Test func replayCommandPrintsForRulesTestAndPublishesAgain() async throws {
        let broker = try Broker()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let config = try Self.config(dir, port: broker.port, devices: "  - { id: living, adapter: simulated, kind: temperature, interval: 5ms, start: 20, step: 1, seed: 3 }",
                                     extra: """
                                        rules:
                                          - name: warm
                                            when: { temperature: { device: living, above: 22 } }
                                            then:
                                              - alert: { message: "{device} at {celsius}" }
                                        """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        var newest: Int64 = 0
        for _ in 0..<200 where newest < 100 {
            newest = Self.number(try await Self.stats(config), "history_newest_seq")
            await pause(0.1)
        }
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)

        let (status, printed) = try await runSensorgate(["replay", "--config", config.path, "--from-seq", "1", "--to-seq", "100", "--type", "TemperatureReading"])
        #expect(status == 0, "\(printed)")
        let lines = printed.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty && lines.count <= 100)
        #expect(lines.allSatisfy { $0.contains(#""type":"TemperatureReading""#) && !$0.contains("replay") })
        #expect(printed.contains("event(s) printed (seq 1 to "))
        let events = try dir.write("events.jsonl", lines.joined(separator: "\n") + "\n")
        let (rulesStatus, rulesOutput) = try await runSensorgate(["rules", "test", "--config", config.path, "--events", events.path])
        #expect(rulesStatus == 0, "\(rulesOutput)")
        #expect(rulesOutput.contains("\(lines.count) event(s) replayed"))
        #expect(rulesOutput.contains(#""type":"AlertRaised""#))

        let live = try Subscriber(port: broker.port, filter: "sensorgate/test-gw/TemperatureReading/#", id: "live")
        defer { withExtendedLifetime(live) {} }
        let (pubStatus, pubOutput) = try await runSensorgate(["replay", "--config", config.path, "--from-seq", "10", "--to-seq", "19",
                                                              "--publish", "--id", "refill"])
        #expect(pubStatus == 0, "\(pubOutput)")
        #expect(await live.waitFor { $0.messages.count >= 10 })
        let republished = live.messages
        #expect(republished.map { Self.json($0.payload)["seq"] as? Int ?? 0 } == Array(10...19))
        #expect(republished.allSatisfy { $0.payload.hasSuffix(#","replay":"refill"}"#) && $0.topic == "sensorgate/test-gw/TemperatureReading/living" })
        #expect(pubOutput.contains("10 event(s) published again (seq 10 to 19): complete"))

        let (badStatus, badOutput) = try await runSensorgate(["replay", "--config", config.path, "--from-seq", "9", "--to-seq", "3"])
        #expect(badStatus == 1)
        #expect(badOutput.contains("error: '--to-seq' (3) is below '--from-seq' (9)"), "\(badOutput)")
    }

    /// Without `history:` nothing is kept and the command says so.
    @Test func replayWithoutAHistorySaysSo() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: 1, history: "")
        let (status, output) = try await runSensorgate(["replay", "--config", config.path, "--from-seq", "1"])
        #expect(status == 1)
        #expect(output.contains("'history' is not configured"))
    }
}

enum Console {
    /// A figure worth seeing in the test log.
    static func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
