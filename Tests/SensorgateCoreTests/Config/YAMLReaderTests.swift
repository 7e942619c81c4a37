import Testing
@testable import SensorgateCore

/// YAML as the config loader reads it: anchors and merge keys work, and a document whose aliases
/// would expand without bound is one located error instead of seconds and gigabytes.
@Suite struct YAMLReaderTests {
    func load(_ text: String) -> ConfigLoadResult {
        ConfigLoader(files: MemoryFiles(files: ["/c.yaml": text]), environment: [:], adapters: [stubSensor]).load(path: "/c.yaml")
    }

    func errors(_ text: String) -> [String] { load(text).diagnostics.map(\.description) }

    @Test func mergeKeysSingleAndListOwnKeysFirstThenEarlierSources() throws {
        let result = load("""
            gateway: { id: t }
            devices:
              - &motion { id: hall, adapter: stub, kind: motion, location: hall }
              - &temp { id: attic, adapter: stub, kind: temperature }
              - { <<: *temp, id: cellar }
              - { <<: [*motion, *temp], id: porch }
              - { <<: [*temp, *motion], id: garage, location: garage }
            """)
        #expect(result.diagnostics.map(\.description) == [])
        let devices = try #require(result.config).devices
        #expect(devices.map(\.id) == ["hall", "attic", "cellar", "porch", "garage"])
        #expect(devices.map { ($0.settings as? StubSensorSettings)?.eventType } ==
                [.motionDetected, .temperatureReading, .temperatureReading, .motionDetected, .temperatureReading])
        #expect(devices.map(\.location) == ["hall", nil, nil, "hall", "garage"])
    }

    @Test func anErrorInAMergedValuePointsAtWhereTheValueWasWritten() {
        #expect(errors("""
            gateway: { id: t }
            defaults: &d { adapter: stbu }
            devices:
              - { <<: *d, id: a, kind: motion }
            """) == [
                "/c.yaml:2:1: error: unknown key 'defaults' in the config file",
                "/c.yaml:2:25: error: 'adapter' must be one of stub, got \"stbu\"; did you mean 'stub'?",
            ])
    }

    @Test func syntaxErrorsAndDuplicateKeysAreLocated() {
        #expect(errors("gateway:\n  id: t\n  id: u\n") == ["/c.yaml:2:3: error: duplicate key 'id' in one mapping"])
        #expect(errors("gateway: { id: t\n") == ["/c.yaml:2:1: error: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping"])
        #expect(errors("gateway: { id: t }\ndevices: *none\n") == ["/c.yaml:2:10: error: YAML syntax error: found undefined alias"])
        #expect(errors("") == ["/c.yaml:1:1: error: the file is empty"])
    }

    // Small enough to fail fast on unbounded code; AliasBombTests run the deep ones in a
    // process watched for time and memory.

    /// Device l(n) merges l(n-1) nine times: 9^n entries from one line each.
    static func mergeBomb(depth: Int) -> String {
        var text = "gateway: { id: t }\ndevices:\n  - &l0 { id: l0, adapter: stub, kind: temperature }\n"
        for level in 1...depth {
            text += "  - &l\(level) { <<: [\(Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", "))], id: l\(level) }\n"
        }
        return text
    }

    static let bombMessage = "YAML aliases expand to more than 10000 nodes by this alias (aliases inside anchors multiply, as in an alias bomb); write the repeated parts out, or nest fewer aliases"

    @Test func nestedMergeKeysAreRefusedAtTheAliasThatCrossesTheBound() {
        // Three levels pass (6,228 nodes through aliases); the first alias of level 4 crosses 10,000.
        #expect(errors(Self.mergeBomb(depth: 3)) == [])
        #expect(errors(Self.mergeBomb(depth: 4)) == ["/c.yaml:7:16: error: \(Self.bombMessage)"])
    }

    @Test func aliasesAsKeysUnderAnUnknownKeyAreRefusedToo() {
        var text = "gateway: { id: t }\nunused:\n  k0: &k0 [a, b, c, d, e, f, g, h, i]\n"
        for level in 1...4 {
            text += "  k\(level): &k\(level)\n"
            for j in 0..<9 { text += "    ? [*k\(level - 1), \(j)]\n    : \(j)\n" }
        }
        #expect(errors(text) == ["/c.yaml:59:8: error: \(Self.bombMessage)"])
    }

    @Test func deepNestingIsRefused() {
        let deep = "gateway: { id: t }\nx: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n"
        #expect(errors(deep) == ["/c.yaml:2:103: error: YAML nests more than 100 levels deep here (aliases expanded); a config needs far fewer"])
    }
}
