// libFuzzer entry points for the parsers that take untrusted input: the config loader (a YAML
// file with its profiles), the profile parsers (w1_slave, JSON fields, regex values, numbers),
// the JSON parser, and the recorded-events reader of `rules test`. `make fuzz` builds this
// with -sanitize=fuzzer,address and runs each target for a bounded time; FUZZ_TARGET picks one.
// A finding becomes a regression test with the input that caused it.

#if canImport(Glibc)
import Glibc
#endif
import SensorgateAdapters
import SensorgateCore

/// Config text from the fuzzer, profiles from a small fixed set.
struct FuzzFiles: ConfigFileSource {
    let config: String
    func readFile(_ path: String) -> String? {
        switch path {
        case "/fuzz/gateway.yaml": return config
        case "/fuzz/Devices/probe.yaml":
            return "name: probe\nadapter: sysfs\nevent: TemperatureReading\nformat: integer\nunit: millicelsius\nvalid_range: [-40, 125]\n"
        case "/fuzz/Devices/zb.yaml":
            return "name: zb\nadapter: mqtt\nevent: TemperatureReading\nformat: json\nfield: temperature\n"
        default: return nil
        }
    }
    func listDirectory(_ path: String) -> [String]? { path == "/fuzz/Devices" ? ["probe.yaml", "zb.yaml"] : nil }
}

let target: String = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? "config"
let decoders: [ReadingDecoder] = [
    try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .w1Slave, unit: .millicelsius, validRange: -55...125)),
    try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .json(field: ["state", "temperature"], motionWhen: nil))),
    try! ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .json(field: ["occupancy"], motionWhen: .bool(true)))),
    try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .regex(pattern: #"T=(?<value>-?[0-9.]+)"#))),
    try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .integer, unit: .millicelsius)),
    try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .float, unit: .fahrenheit)),
]

/// Example.yaml's rules and thermostats, for restoring fuzzed rule state into.
let ruleConfig: GatewayConfig = {
    let result = ConfigLoader(files: FuzzFiles(config: """
        gateway: { id: fuzz }
        devices:
          - { id: t, adapter: simulated, kind: temperature }
          - { id: m, adapter: simulated, kind: motion }
        rules:
          - { name: hot, when: { temperature: { device: t, above: 25, for: 10s } }, then: [ { alert: { message: hot } } ], cooldown: 1m }
          - { name: quiet, when: { no_motion: { device: m, for: 1m } }, then: [ { thermostat: { name: heat, target: 17 } } ] }
        thermostats:
          - { name: heat, device: t, target: 21, max_run: 1h, actuator: { gpio: { chip: /dev/gpiochip0, line: 27 } } }
        """), environment: [:], adapters: AdapterRegistry.all).load(path: "/fuzz/gateway.yaml")
    guard let config = result.config else { fatalError("the fuzz harness config has errors: \(result.diagnostics)") }
    return config
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    switch target {
    case "config":
        let result = ConfigLoader(files: FuzzFiles(config: text), environment: ["X": "1"], adapters: AdapterRegistry.all)
            .load(path: "/fuzz/gateway.yaml")
        // Every problem is located in a file that exists (the config or a profile).
        for d in result.diagnostics where d.location.line < 1 || d.location.column < 1 { fatalError("unlocated: \(d)") }
    case "profiles":
        for decoder in decoders { _ = decoder.decode(text) }
    case "json":
        if let value = try? JSONParser.parse(bytes) {
            var w = JSONWriter(capacity: 64)
            w.value(value)
            // What the writer writes, the parser reads back to the same value.
            guard let again = try? JSONParser.parse(w.bytes), again == value else { fatalError("JSON round trip failed") }
        }
    case "rulestate":
        // Saved rule state read back after damage: never a trap.
        var engine = RuleEngine(config: ruleConfig, start: RuleInstant(wall: Timestamp(millisecondsSinceEpoch: 1_795_694_400_000)))
        _ = engine.restoreState(json: text, at: RuleInstant(wall: Timestamp(millisecondsSinceEpoch: 1_795_694_500_000)), elapsed: 1_000)
        _ = engine.tick(at: RuleInstant(wall: Timestamp(millisecondsSinceEpoch: 1_795_694_600_000)))
    case "recorded":
        for (i, line) in text.split(separator: "\n").enumerated() { _ = try? RecordedEvents.parse(line, line: i + 1) }
    default:
        fatalError("FUZZ_TARGET must be config, profiles, json, rulestate or recorded")
    }
    return 0
}

#if FUZZING
/// SwiftPM names an executable's entry point after its module; hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("sensorgate_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzz)
}
#else
/// Built without libFuzzer (a plain `swift build`): say how to run it.
@main
enum FuzzHelp {
    static func main() {
        print("sensorgate-fuzz runs under libFuzzer: use `make fuzz` (it builds with -sanitize=fuzzer,address -D FUZZING)")
    }
}
#endif
