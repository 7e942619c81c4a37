// A virtual clock around the rules engine: configs written inline, readings fed at chosen
// offsets, and every output recorded with the second it appeared at.

import Testing
@testable import SensorgateCore

struct MemoryFiles: ConfigFileSource {
    var files: [String: String]
    func readFile(_ path: String) -> String? { files[path] }
    func listDirectory(_ path: String) -> [String]? { nil }
}

/// A stand-in sensor (the real adapters live outside the core): rules need only a device's id
/// and whether it measures temperature or motion.
struct StubSensorSettings: AdapterSettings {
    var eventType: EventType?
}

let stubSensor = AdapterDefinition(name: "stub", keys: ["kind"], readings: .madeByAdapter(hint: "set 'kind'")) { s in
    s.string("kind", required: "temperature or motion")
        .map { StubSensorSettings(eventType: $0 == "motion" ? .motionDetected : .temperatureReading) }
}

/// Loads `rules`/`thermostats` YAML under a gateway with stub devices: names ending in
/// "motion" or starting with "hall"/"pir" are motion sensors, the rest temperature sensors.
func ruleConfig(devices: [String], _ yaml: String, mqtt: Bool = true) throws -> GatewayConfig {
    var text = "gateway: { id: test, state_dir: /tmp/unused }\n"
    if mqtt { text += "mqtt: { url: 'mqtt://127.0.0.1:1883' }\n" }
    text += "devices:\n"
    for id in devices {
        let motion = id.hasSuffix("motion") || id.hasPrefix("hall") || id.hasPrefix("pir")
        text += "  - { id: \(id), adapter: stub, kind: \(motion ? "motion" : "temperature"), location: \(id)-room }\n"
    }
    text += yaml
    let result = ConfigLoader(files: MemoryFiles(files: ["/cfg.yaml": text]), environment: [:], adapters: [stubSensor]).load(path: "/cfg.yaml")
    guard let config = result.config else {
        Issue.record("config errors: \(result.diagnostics.map(\.description))")
        throw HarnessError.badConfig
    }
    return config
}

enum HarnessError: Error { case badConfig }

/// 2026-11-26 (a Thursday) 00:00:00 UTC.
let day0 = Timestamp(rfc3339: "2026-11-26T00:00:00Z")!

struct Harness {
    var replay: RuleReplay
    let start: Timestamp
    /// Everything emitted, as (seconds since start, output).
    var log: [(Double, RuleOutput)] = []

    /// The engine starts at `origin + offset`; times in the log count from `origin`, so a
    /// restarted harness reads on the same timeline. `restoring`: state saved by an earlier
    /// engine, `elapsed` ms before the start.
    init(_ config: GatewayConfig, start origin: Timestamp = day0, utcOffset: Int = 0, offset: Int64 = 0,
         restoring state: String? = nil, elapsed: Int64 = 0) {
        replay = RuleReplay(config: config, start: origin.adding(milliseconds: offset), utcOffset: { _ in utcOffset })
        start = origin
        if let state { #expect(replay.restoreState(json: state, elapsed: elapsed) == []) }
        record(replay.start())
    }

    /// A restart `downtime` seconds after this harness's present, with its state carried over.
    func restarted(_ config: GatewayConfig, downtime: Double) -> Harness {
        let downtimeMs = Int64(downtime * 1000)
        let offset = replay.now.wall.millisecondsSinceEpoch - start.millisecondsSinceEpoch + downtimeMs
        return Harness(config, start: start, offset: offset, restoring: replay.stateJSON(), elapsed: downtimeMs)
    }

    var engine: RuleEngine { replay.engine }

    mutating func record(_ outputs: [RuleReplay.Output]) {
        for o in outputs { log.append((Double(o.time.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / 1000, o.output)) }
    }

    func time(_ seconds: Double) -> Timestamp { start.adding(milliseconds: Int64((seconds * 1000).rounded())) }

    mutating func at(_ seconds: Double, _ device: String, celsius: Double) {
        let event = Event(id: testEventID, source: "sensorgate/test", subject: device,
                          time: time(seconds), seq: 0, data: .temperature(celsius: celsius, location: nil))
        record(replay.feed(event))
    }

    mutating func motion(_ seconds: Double, _ device: String) {
        let event = Event(id: testEventID, source: "sensorgate/test", subject: device,
                          time: time(seconds), seq: 0, data: .motion(location: nil))
        record(replay.feed(event))
    }

    mutating func advance(to seconds: Double) { record(replay.advance(to: time(seconds))) }

    /// Alerts as "raise rule@t" / "resolve rule@t", commands as "on thermostat@t" / "off …".
    var summary: [String] {
        log.compactMap { (t, o) -> String? in
            let at = t == t.rounded() ? String(Int(t)) : String(t)
            switch o {
            case .event(_, .alertRaised(let a)): return "raise \(a.rule)@\(at)"
            case .event(_, .alertResolved(let a)): return "resolve \(a.rule)@\(at)"
            case .event(_, .thermostatCommand(let c)): return "\(c.outputOn ? "on" : "off") \(c.thermostat)@\(at)"
            case .publish(let topic, _, _, _): return "publish \(topic)@\(at)"
            default: return nil
            }
        }
    }

    var alerts: [String] { summary.filter { $0.hasPrefix("raise") || $0.hasPrefix("resolve") } }
    var messages: [String] {
        log.compactMap { if case .event(_, .alertRaised(let a)) = $0.1 { return a.message } else { return nil } }
    }
    var commands: [ThermostatCommandData] {
        log.compactMap { if case .event(_, .thermostatCommand(let c)) = $0.1 { return c } else { return nil } }
    }
}

let testEventID = EventID("00000000-0000-7000-8000-000000000000")!

/// A small deterministic generator for property-style tests.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + Double(next() >> 11) / Double(1 << 53) * (high - low)
    }
}
