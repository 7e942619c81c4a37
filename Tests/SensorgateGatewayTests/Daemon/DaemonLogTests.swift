import Foundation
import Logging
import Testing
import SensorgateCore
@testable import SensorgateGateway

/// Logs for a daemon: a line per reading only at debug or on a terminal, `<N>` priorities and no
/// timestamp of our own under journald, JSON lines that parse whatever the message says, and a
/// periodic summary instead of silence until the stop.
@Suite struct LogLineTests {
    static let time = Timestamp(millisecondsSinceEpoch: 1_795_694_400_123)

    @Test func textJournalAndJSONShapes() throws {
        let metadata: Logger.Metadata = ["device": "attic", "reason": "readError"]
        let text = LogLine.render(level: .warning, message: "attic: readError: gone", metadata: metadata, time: Self.time, target: LogTarget())
        #expect(text.hasSuffix(" warning attic: readError: gone\n"))
        #expect(text.first?.isNumber == true)  // HH:MM:SS.mmm first
        let journal = LogLine.render(level: .warning, message: "attic: readError: gone", metadata: metadata, time: Self.time,
                                     target: LogTarget(format: .text, journal: true))
        #expect(journal == "<4>warning attic: readError: gone\n")
        #expect(LogLine.render(level: .info, message: "two\nlines", metadata: ["k": "v"], time: Self.time,
                               target: LogTarget(format: .text, journal: true)) == "<6>info two\n<6>  lines k=v\n")
        let json = LogLine.render(level: .error, message: "x", metadata: ["n": .array(["1", .dictionary(["a": "b"])])], time: Self.time,
                                  target: LogTarget(format: .json))
        #expect(json == #"{"time":"2026-11-26T12:00:00.123Z","level":"error","message":"x","metadata":{"n":["1",{"a":"b"}]}}"# + "\n")
        let journalJSON = LogLine.render(level: .critical, message: "x", metadata: [:], time: Self.time, target: LogTarget(format: .json, journal: true))
        #expect(journalJSON == #"<2>{"time":"2026-11-26T12:00:00.123Z","level":"critical","message":"x"}"# + "\n")
        #expect([Logger.Level.trace, .debug, .info, .notice, .warning, .error, .critical].map(LogLine.priority) == [7, 7, 6, 5, 4, 3, 2])
    }

    /// Every message text, however odd, makes one line of valid JSON that reads back the same.
    @Test func jsonIsValidForAnyMessage() throws {
        var samples = ["", "plain", "quote \" backslash \\ slash /", "tab\tnewline\ncr\r", "\u{0}\u{1}\u{1f}\u{7f}",
                       "ünïcödé °C", "emoji 🌡️ and \u{2028}\u{2029}", "{\"not\": \"json\"}", "\\u0000", "trailing \\"]
        var random = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let count = Int(random.next() % 40)
            var s = ""
            for _ in 0..<count {
                let pick = random.next() % 4
                let scalar: UInt32 = pick == 0 ? UInt32(random.next() % 0x80) : pick == 1 ? UInt32(random.next() % 0x800)
                    : pick == 2 ? UInt32(random.next() % 0xD800) : 0x10000 + UInt32(random.next() % 0xFFFF)
                if let u = Unicode.Scalar(scalar) { s.unicodeScalars.append(u) }
            }
            samples.append(s)
        }
        for message in samples {
            let line = LogLine.render(level: .info, message: message, metadata: ["key \"q\"": .string(message)], time: Self.time,
                                      target: LogTarget(format: .json))
            #expect(line.hasSuffix("\n") && line.dropLast().allSatisfy { $0 != "\n" }, "one line: \(line.debugDescription)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line.debugDescription)")
            #expect(object["message"] as? String == message)
            #expect((object["metadata"] as? [String: Any])?["key \"q\""] as? String == message)
        }
    }

    @Test func eventsAreEchoedOnlyForSomeoneWatching() {
        #expect(LogTarget.echoesEvents(level: .debug, terminal: false))
        #expect(LogTarget.echoesEvents(level: .trace, terminal: false))
        #expect(!LogTarget.echoesEvents(level: .info, terminal: false))
        #expect(LogTarget.echoesEvents(level: .info, terminal: true))
        #expect(!LogTarget.echoesEvents(level: .notice, terminal: true))
    }

    @Test func journalStreamCountsOnlyWhenItIsStderr() {
        #expect(LogTarget.detect(format: .text, environment: [:]) == LogTarget(format: .text, journal: false))
        #expect(LogTarget.detect(format: .json, environment: ["JOURNAL_STREAM": "1:1"]) == LogTarget(format: .json, journal: false))
        #expect(LogTarget.detect(format: .text, environment: ["JOURNAL_STREAM": "garbage"]).journal == false)
        var st = stat()
        fstat(2, &st)
        #expect(LogTarget.detect(format: .text, environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)"]).journal)
    }
}

@Suite(.serialized) struct DaemonLogProcessTests {
    static func config(_ dir: TemporaryDirectory, port: Int? = nil, location: String = "living room") throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: logs, state_dir: ./state }
            \(port.map { "mqtt: { url: \"mqtt://127.0.0.1:\($0)\" }" } ?? "")
            devices:
              - { id: living, adapter: simulated, kind: temperature, interval: 20ms, location: '\(location)' }
              - { id: flaky, adapter: simulated, kind: temperature, interval: 20ms, seed: 3, fail_rate: 0.5 }
            """)
    }

    @Test func jsonLinesParseWhateverTheyCarry() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, location: #"the "odd" \ room"# + "\t" + "tab")
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-format", "json", "--log-level", "debug"])
        #expect(await gateway.waitFor { $0.contains("flaky: readError") && $0.components(separatedBy: "TemperatureReading").count > 5 })
        // A reload with errors: the diagnostics are log records too.
        try "gateway: { id: logs, state_dir: ./state }\ndevices: [ { id: x, adapter: \"no\\\"pe\" } ]\n".write(to: config, atomically: true, encoding: .utf8)
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("the running config stays") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let lines = gateway.output.split(separator: "\n")
        #expect(lines.count > 10)
        var levels = Set<String>()
        var sawEvent = false, sawDiagnostic = false
        for line in lines {
            let object = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            let time = try #require(object["time"] as? String)
            #expect(Timestamp(rfc3339: time) != nil)
            levels.insert(try #require(object["level"] as? String))
            let message = try #require(object["message"] as? String)
            if let metadata = object["metadata"] as? [String: Any], metadata["seq"] != nil, message.contains(#"the "odd" \ room"#) {
                sawEvent = true
            }
            if message.contains("gateway.yaml:2:30: error: 'adapter' must be one of") { sawDiagnostic = (object["level"] as? String) == "error" }
        }
        #expect(levels.isSuperset(of: ["notice", "debug", "warning", "error"]))
        #expect(sawEvent, "an event line with its metadata and the odd location intact")
        #expect(sawDiagnostic)
    }

    @Test func underJournaldLinesCarryPrioritiesAndNoTimestamp() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"], journal: true)
        #expect(await gateway.waitFor { $0.contains("flaky: readError") && $0.contains("#5") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let lines = gateway.output.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.range(of: #"^<[2-7]>"#, options: .regularExpression) != nil }, "\(lines.prefix(5))")
        #expect(!lines.contains { $0.range(of: #"\d\d:\d\d:\d\d\.\d\d\d"#, options: .regularExpression) != nil }, "no timestamp of our own")
        #expect(lines.contains { $0.hasPrefix("<5>notice sensorgate ") })
        #expect(lines.contains { $0.hasPrefix("<4>warning flaky: readError") })
        #expect(lines.contains { $0.hasPrefix("<7>debug living") && $0.hasSuffix("#5") })
        #expect(lines.contains("<5>notice SIGTERM: stopping"))
    }

    /// The demo's sensors at the default level with stderr a pipe (as under systemd): a few
    /// lines and a summary, not a line per reading; the events still reach the broker.
    @Test func theDefaultLevelIsQuietAndSummarizes() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, subscriber, dir)) {} }
        let demo = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Config/demo.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "state_dir: ../var/demo", with: "state_dir: ./state")
            .replacingOccurrences(of: "18830", with: "\(broker.port)")
            .replacingOccurrences(of: "fail_rate: 0.05", with: "fail_rate: 0.3")
            .replacingOccurrences(of: "127.0.0.1:9180", with: "127.0.0.1:\(try Broker.freePort())")  // a running demo may hold 9180
        let config = try dir.write("demo.yaml", demo)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--summary-interval", "4s"])
        await pause(13)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let lines = gateway.output.split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.range(of: #"#\d+$"#, options: .regularExpression) != nil }, "no per-reading lines:\n\(lines.joined(separator: "\n"))")
        #expect(subscriber.events.count >= 10, "the readings flowed: \(subscriber.events.count)")
        let summaries = lines.filter { $0.contains(" info summary (last 4s): ") }
        #expect(summaries.count >= 2 && summaries.count <= 4, "\(summaries)")
        #expect(summaries.contains { $0.contains(" events (TemperatureReading ") && $0.contains("; buffer 0; uplink connected to 127.0.0.1:\(broker.port)") })
        #expect(summaries.contains { $0.contains("failed reads: attic readError ") }, "\(summaries)")
        // Start, connect, clock, summaries, failures (the first and one per power of ten after an
        // outage), stop: a handful, however many readings there were.
        #expect(lines.count <= 30, "\(lines.count) lines:\n\(lines.joined(separator: "\n"))")
    }

    /// On a terminal a person watches: a line per reading at the default level (`script` gives
    /// the gateway a pseudo-terminal as stderr).
    @Test func aTerminalGetsALinePerReading() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"))
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir)
        let command = "exec '\(TestPaths.binary.path)' run --config '\(config.path)'"
        let gateway = try GatewayProcess(["-qfec", command, "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(await gateway.waitFor { $0.contains("info living       TemperatureReading ") && $0.contains("#5") })
        gateway.signal(SIGTERM)
        _ = await gateway.waitForExit()
    }
}
