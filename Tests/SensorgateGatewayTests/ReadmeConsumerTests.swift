import Foundation
import Testing

/// The README's Python consumer ("Recovering lost events"), run as it is written against a real
/// broker and gateway: it is stopped for a while, and when it comes back it notices the gap and
/// heals it through a replay request.
@Suite(.serialized) struct ReadmeConsumerTests {
    /// The example's code, with this test's broker and gateway put in.
    static func example(base: String, port: Int) throws -> String {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Recovering lost events")).upperBound
        let start = try #require(readme.range(of: "```python\n", range: section..<readme.endIndex)).upperBound
        let end = try #require(readme.range(of: "```", range: start..<readme.endIndex)).lowerBound
        let code = String(readme[start..<end])
        #expect(code.split(separator: "\n").count <= 25, "the README's example grew")
        #expect(code.contains(#"BASE = "sensorgate/pi-livingroom""#) && code.contains(#"client.connect("127.0.0.1", 1883)"#))
        return code.replacingOccurrences(of: #"BASE = "sensorgate/pi-livingroom""#, with: #"BASE = "\#(base)""#)
            .replacingOccurrences(of: #"client.connect("127.0.0.1", 1883)"#, with: #"client.connect("127.0.0.1", \#(port))"#)
    }

    /// python3 running `code` in `dir`, its stdout collected.
    final class Consumer: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var text = ""

        init(code: String, dir: URL) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-u", "-c", code]
            process.currentDirectoryURL = dir
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.withLock { self.text += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
        }

        var output: String { lock.withLock { text } }

        /// The events it handled, in order.
        var events: [[String: Any]] {
            output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        var seqs: [Int] { events.compactMap { $0["seq"] as? Int } }

        func waitFor(timeout: TimeInterval = 30, _ predicate: (Consumer) -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if predicate(self) { return true }
                if !process.isRunning { return predicate(self) }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return predicate(self)
        }

        func stop(_ signal: Int32) async {
            kill(process.processIdentifier, signal)
            for _ in 0..<1_000 where process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    @Test func theReadmeConsumerDetectsAGapAndHealsIt() async throws {
        let broker = try Broker()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        let config = try ReplayTests.config(dir, port: broker.port, devices: """
              - { id: living, adapter: simulated, kind: temperature, interval: 20ms }
              - { id: hall, adapter: simulated, kind: motion, rate: 5 }
            """)
        let code = try Self.example(base: "sensorgate/test-gw", port: broker.port)
        let consumerDir = dir.url.appendingPathComponent("consumer")
        try FileManager.default.createDirectory(at: consumerDir, withIntermediateDirectories: true)

        let first = try Consumer(code: code, dir: consumerDir)
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "notice"])
        #expect(await first.waitFor { $0.seqs.count >= 30 }, "\(first.output.suffix(2_000))")
        await first.stop(SIGKILL)  // down, as a consumer is when its host reboots
        // What the consumer saved is what it will resume from (a kill between handling an event
        // and saving its seq means that event is handled again: at least once).
        let saved = try String(contentsOf: consumerDir.appendingPathComponent("last_seq"), encoding: .utf8)
        let lastHandled = try #require(Int(saved), "last_seq holds '\(saved)'")
        // The gateway goes on: wait until 50 more events are kept.
        var newest: Int64 = 0
        for _ in 0..<200 where newest < lastHandled + 50 {
            await pause(0.1)
            newest = ReplayTests.number(try await ReplayTests.stats(config), "history_newest_seq")
        }
        let second = try Consumer(code: code, dir: consumerDir)  // the same last_seq file
        // From the first event the first consumer saw (python may subscribe after the gateway's
        // first few events: those were never the consumer's) to the newest kept at its restart.
        let firstSeen = first.seqs.min() ?? 1
        #expect(await second.waitFor { c in
            let seqs = Set(first.seqs + c.seqs)
            return (firstSeen...Int(newest)).allSatisfy(seqs.contains)
        }, "\(second.output.suffix(3_000))\n\(gateway.output.suffix(1_500))")
        // The gateway logs the replay's end after its `done` went out: wait for it, then stop.
        #expect(await gateway.waitFor { $0.contains("replay gap-\(lastHandled + 1): complete") }, "\(gateway.output.suffix(2_000))")
        await second.stop(SIGKILL)  // (a child of the test process may inherit SIGTERM ignored)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)

        let healed = second.events.filter { $0["replay"] != nil }
        #expect(!healed.isEmpty, "the consumer did not heal the gap through a replay")
        #expect(healed.allSatisfy { ($0["replay"] as? String)?.hasPrefix("gap-\(lastHandled + 1)") == true })
        let healedSeqs = healed.compactMap { $0["seq"] as? Int }
        #expect(healedSeqs.first == lastHandled + 1, "the replay did not start right after the last handled seq")
        #expect(healedSeqs == healedSeqs.sorted() && Set(healedSeqs).count == healedSeqs.count)
        // Nothing handled twice, nothing missing from 1 to the newest.
        let all = first.seqs.filter { $0 <= lastHandled } + second.seqs
        #expect(Set(all).count == all.count, "handled twice: \(Dictionary(grouping: all, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().prefix(10))")
    }
}
