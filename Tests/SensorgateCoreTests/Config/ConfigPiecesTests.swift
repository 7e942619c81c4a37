import Testing
@testable import SensorgateCore

@Suite struct GlobTests {
    @Test(arguments: [("room-*", "room-1", true), ("room-*", "room-", true), ("room-*", "roo", false),
                      ("*-temp", "attic-temp", true), ("r?om", "room", true), ("r?om", "rom", false),
                      ("room-[12]", "room-2", true), ("room-[12]", "room-3", false), ("room-[!1]", "room-2", true),
                      ("room-[a-c]", "room-b", true), ("cpu", "cpu", true), ("cpu", "cpu2", false), ("*", "", true)])
    func matches(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(Glob.matches(pattern: pattern, text) == expected)
    }
}

@Suite struct EnvironmentSubstitutionTests {
    let env = ["HOST": "broker", "EMPTY": ""]

    @Test func substitutes() throws {
        #expect(try EnvironmentSubstitution.apply("mqtt://${HOST}:1883", environment: env).get() == "mqtt://broker:1883")
        #expect(try EnvironmentSubstitution.apply("${MISSING:-fallback}", environment: env).get() == "fallback")
        #expect(try EnvironmentSubstitution.apply("${EMPTY:-fallback}", environment: env).get() == "fallback")
        #expect(try EnvironmentSubstitution.apply("${EMPTY}", environment: env).get() == "")
        #expect(try EnvironmentSubstitution.apply("cost $$5 and $x", environment: env).get() == "cost $5 and $x")
    }

    @Test func reportsProblems() {
        #expect(EnvironmentSubstitution.apply("${MISSING}", environment: env) == .failure(.unset("MISSING")))
        #expect(EnvironmentSubstitution.apply("${HOST", environment: env) == .failure(.unterminated))
        #expect(EnvironmentSubstitution.apply("${1X}", environment: env) == .failure(.badName("1X")))
    }
}

@Suite struct SuggestionTests {
    @Test func suggestsCloseWords() {
        #expect(Suggestion.didYouMean("intervl", among: ["interval", "path"]) == "; did you mean 'interval'?")
        #expect(Suggestion.didYouMean("paht", among: ["interval", "path"]) == "; did you mean 'path'?")
        #expect(Suggestion.didYouMean("zzz", among: ["interval", "path"]) == "")
    }
}

@Suite struct BrokerURLTests {
    @Test func parses() {
        #expect(BrokerURL("mqtt://127.0.0.1:1883") == BrokerURL(host: "127.0.0.1", port: 1883, tls: false))
        #expect(BrokerURL("mqtts://broker.example") == BrokerURL(host: "broker.example", port: 8883, tls: true))
        #expect(BrokerURL("mqtt://[::1]:1884") == BrokerURL(host: "::1", port: 1884, tls: false))
        #expect(BrokerURL("http://x") == nil)
        #expect(BrokerURL("mqtt://:1883") == nil)
        #expect(BrokerURL("mqtt://host:99999") == nil)
    }
}

extension BrokerURL {
    init(host: String, port: Int, tls: Bool) {
        self = BrokerURL("\(tls ? "mqtts" : "mqtt")://\(host.contains(":") ? "[\(host)]" : host):\(port)")!
    }
}

@Suite struct PathsTests {
    @Test func joinsAndNormalizes() {
        #expect(Paths.join("Config", "../Devices") == "Devices")
        #expect(Paths.join("Config", "./var") == "Config/var")
        #expect(Paths.join("/etc/sensorgate", "../../x") == "/x")
        #expect(Paths.join("Config", "/abs/path") == "/abs/path")
        #expect(Paths.join(".", "Devices") == "Devices")
        #expect(Paths.join("..", "../a") == "../../a")
        #expect(Paths.directory(of: "Config/demo.yaml") == "Config")
        #expect(Paths.directory(of: "demo.yaml") == ".")
        #expect(Paths.directory(of: "/demo.yaml") == "/")
    }
}
