import Foundation
import Testing
import SensorgateCore
@testable import SensorgateGateway

/// `sensorgate rules test` as a user runs it: the shipped example config and recorded day,
/// compared with the expected output line by line.
@Suite struct RulesTestCommandTests {
    func run(_ events: String, until: String? = nil) async throws -> (Int32, [String], String) {
        var args = ["rules", "test", "--config", TestPaths.packageRoot.appendingPathComponent("Config/example.yaml").path,
                    "--events", events]
        if let until { args += ["--until", until] }
        let (status, output) = try await runSensorgate(args, environment: ["TZ": "UTC", "MQTT_PASSWORD": "x"])
        let lines = output.split(separator: "\n").map(String.init)
        return (status, lines.filter { $0.hasPrefix("{") }, lines.filter { !$0.hasPrefix("{") }.joined(separator: "\n"))
    }

    @Test func aRecordedDayGivesTheExpectedAlertsAndCommands() async throws {
        let events = TestPaths.packageRoot.appendingPathComponent("Config/example-day.jsonl").path
        let (status, lines, messages) = try await run(events, until: "2026-11-27T00:00:00Z")
        #expect(status == 0, "\(messages)")
        let expected = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("rules/example-day.expected"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(lines == expected)
        #expect(messages.contains("2042 event(s) replayed, 16 emitted"))
        // Every output event is a valid CloudEvent with contiguous seq.
        let seqs = try lines.filter { !$0.contains("\"publish\"") }.map { try Event(cloudEventJSON: $0).seq }
        #expect(seqs == Array(1...UInt64(seqs.count)))
    }

    @Test func badLinesAreNamedCountedAndSkipped() async throws {
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let file = try dir.write("events.jsonl", """
            {"time":"2026-11-26T12:00:00Z","type":"TemperatureReading","subject":"cpu","data":{"celsius":75}}
            not json at all
            {"time":"2026-11-26T12:00:10Z","type":"TemperatureReading","subject":"cpu","data":{}}
            {"time":"2026-11-26T11:00:00Z","type":"TemperatureReading","subject":"cpu","data":{"celsius":76}}
            {"time":"2026-11-26T12:01:00Z","type":"TemperatureReading","subject":"cpu","data":{"celsius":77}}
            """)
        let (status, lines, messages) = try await run(file.path)
        #expect(status == 1)
        #expect(messages.contains("events.jsonl:2: error: not JSON"))
        #expect(messages.contains("events.jsonl:3: error: missing data.celsius; line skipped"))
        #expect(messages.contains("events.jsonl:4: warning: time 2026-11-26T11:00:00.000Z is before the previous event's"))
        #expect(messages.contains("3 event(s) replayed"))
        #expect(messages.contains("2 line(s) skipped"))
        // The good lines still drove the rules: cpu above 70 for 30 s.
        #expect(lines.contains { $0.contains("\"AlertRaised\"") && $0.contains("\"time\":\"2026-11-26T12:00:30.000Z\"") })
    }
}
