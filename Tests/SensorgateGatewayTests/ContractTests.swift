import Foundation
import Testing

/// The published event contract: the schema files in the repository are the ones the binary
/// carries, they are valid draft 2020-12 schemas, the check that `make test` runs on every
/// emitted event catches a broken one, and the AsyncAPI documents validate against the official
/// AsyncAPI 3.0 schema.
@Suite struct ContractTests {
    /// The official AsyncAPI 3.0 JSON Schema (github.com/asyncapi/spec-json-schemas, Apache-2.0,
    /// its LICENSE beside it), kept in the repository so a fresh clone checks against it offline.
    static let officialAsyncAPI = TestPaths.packageRoot
        .appendingPathComponent("Tests/SensorgateGatewayTests/Fixtures/asyncapi/asyncapi-3.0.0.schema.json")

    /// Runs a program to completion: (status, stdout and stderr).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func python(_ script: String, _ arguments: [String] = []) throws -> (Int32, String) {
        try run("/usr/bin/env", ["python3", "-c", script] + arguments)
    }

    @Test func theRepositorysSchemaFilesAreTheOnesInTheBinary() async throws {
        let (status, list) = try await runSensorgate(["schema"])
        #expect(status == 0)
        let published = list.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(published.count >= 7)
        var expected: Set<String> = []
        for entry in published {
            let (name, uri) = (entry[0], entry.last!)
            let version = uri.split(separator: ":").last!
            let path = (name.hasPrefix("Replay") ? "schemas/replay" : "schemas/events") + "/v\(version)/\(name).json"
            expected.insert(path)
            let (_, text) = try await runSensorgate(["schema", name])
            let file = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent(path), encoding: .utf8)
            #expect(file == text, "\(path) differs from `sensorgate schema \(name)`: run `make schemas`")
        }
        let enumerator = FileManager.default.enumerator(atPath: TestPaths.packageRoot.appendingPathComponent("schemas").path)
        let files = Set((enumerator?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }.map { "schemas/" + $0 })
        #expect(files == expected, "schema files without a published schema, or missing: \(files.symmetricDifference(expected))")
    }

    @Test func everySchemaIsADraft202012Schema() throws {
        let (status, output) = try Self.python("""
            import glob, json, sys, jsonschema
            files = sorted(glob.glob(sys.argv[1] + "/schemas/*/v*/*.json"))
            for f in files:
                jsonschema.Draft202012Validator.check_schema(json.load(open(f)))
            print(len(files), "schemas ok")
            """, [TestPaths.packageRoot.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("7 schemas ok") || output.contains("schemas ok"), "\(output)")
    }

    /// The check `make test` runs at the end is not vacuous: a renamed field, a wrong type, an
    /// undeclared field and an unknown dataschema all fail it.
    @Test func theEmittedEventCheckCatchesBrokenEvents() async throws {
        let dir = try TemporaryDirectory()
        let good = #"{"specversion":"1.0","id":"0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11","source":"sensorgate/pi","type":"TemperatureReading","subject":"cpu","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:TemperatureReading:1","seq":42,"data":{"celsius":48.312,"location":"enclosure"}}"#
        let validator = TestPaths.packageRoot.appendingPathComponent("Tests/Tools/validate_events.py").path
        let schemas = TestPaths.packageRoot.appendingPathComponent("schemas/events").path
        let ok = try dir.write("good.jsonl", good + "\n" + good.replacingOccurrences(of: #","replay":"x""#, with: "") + "\n")
        let (okStatus, okOutput) = try Self.run("/usr/bin/env", ["python3", validator, "--schemas", schemas, ok.path])
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("2 valid, 0 invalid"))
        for (name, broken) in [
            ("renamed", good.replacingOccurrences(of: "celsius", with: "temp")),
            ("retyped", good.replacingOccurrences(of: "48.312", with: "\"48.312\"")),
            ("undeclared", good.replacingOccurrences(of: #""location":"enclosure""#, with: #""location":"enclosure","humidity":40"#)),
            ("attribute", good.replacingOccurrences(of: #""seq":42"#, with: #""seq":42,"extra":1"#)),
            ("unknown schema", good.replacingOccurrences(of: "TemperatureReading:1", with: "TemperatureReading:9")),
            ("bad seq", good.replacingOccurrences(of: #""seq":42"#, with: #""seq":0"#)),
        ] {
            let file = try dir.write("\(name).jsonl", broken + "\n")
            let (status, output) = try Self.run("/usr/bin/env", ["python3", validator, "--schemas", schemas, file.path])
            #expect(status == 1, "\(name) passed: \(output)")
            #expect(output.contains("1 invalid"), "\(name): \(output)")
        }
    }

    static func validateAsyncAPI(_ document: String) throws -> (Int32, String) {
        let dir = try TemporaryDirectory()
        let file = try dir.write("asyncapi.json", document)
        return try Self.python("""
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            doc = json.load(open(sys.argv[2]))
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
            for e in errors[:10]:
                print("/".join(str(p) for p in e.path), e.message[:300])
            print(len(errors), "error(s)")
            sys.exit(1 if errors else 0)
            """, [Self.officialAsyncAPI.path, file.path])
    }

    @Test(arguments: ["Config/example.yaml", "Config/demo.yaml"])
    func theAsyncAPIDocumentOfAConfigValidatesAgainstTheOfficialSchema(config: String) async throws {
        let path = TestPaths.packageRoot.appendingPathComponent(config).path
        let (status, document) = try await runSensorgate(["asyncapi", "--config", path], environment: ["MQTT_PASSWORD": ""])
        #expect(status == 0, "\(document)")
        let (valid, report) = try Self.validateAsyncAPI(document)
        #expect(valid == 0, "\(config): \(report)")
        let json = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
        let channels = json?["channels"] as? [String: Any] ?? [:]
        if config.hasSuffix("example.yaml") {
            for name in ["TemperatureReading-cpu", "MotionDetected-hall", "ThermostatCommand-living-room", "status", "replayRequest",
                         "replayEvents", "replayDone", "actuator-living-room", "input-garage"] {
                #expect(channels[name] != nil, "no channel \(name)")
            }
            #expect((channels["replayDone"] as? [String: Any])?["address"] as? String == "sensorgate/pi-livingroom/replay/{id}/done")
        }
    }

    @Test func anAsyncAPIDocumentWithInputBrokersAndTLSValidates() async throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: edge-1, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.path)/Devices }
            mqtt: { url: "mqtts://broker.example:8883", protocol: 3.1.1, topic_prefix: plant }
            history: {}
            devices:
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage, broker: "mqtt://10.0.0.2:1883" }
              - { id: sim, adapter: simulated, kind: motion }
            """)
        let (status, document) = try await runSensorgate(["asyncapi", "--config", config.path])
        #expect(status == 0, "\(document)")
        let (valid, report) = try Self.validateAsyncAPI(document)
        #expect(valid == 0, "\(report)")
        #expect(document.contains(#""protocol": "secure-mqtt""#))
        #expect(document.contains(##""$ref": "#/servers/input-broker-1""##))
    }

    @Test func schemaCommandListsPrintsAndRefuses() async throws {
        let (status, text) = try await runSensorgate(["schema", "ThermostatCommand"])
        #expect(status == 0)
        let schema = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(schema?["$id"] as? String == "urn:sensorgate:schema:ThermostatCommand:1")
        let (badStatus, bad) = try await runSensorgate(["schema", "temperaturereading"])
        #expect(badStatus == 1)
        #expect(bad.contains("unknown type 'temperaturereading'; did you mean 'TemperatureReading'?"))
        let (versionStatus, version) = try await runSensorgate(["schema", "TemperatureReading", "--version", "7"])
        #expect(versionStatus == 1)
        #expect(version.contains("TemperatureReading has no published version 7; published: 1"))
    }
}
