// The rules engine in-process: 50 rules of every condition kind and 2 thermostats over 25
// devices, events handed straight to RuleEngine.handle on one core.

import Foundation
import SensorgateAdapters
import SensorgateCore

struct MemoryFiles: ConfigFileSource {
    var files: [String: String]
    func readFile(_ path: String) -> String? { files[path] }
    func listDirectory(_ path: String) -> [String]? { nil }
}

/// 25 devices, 50 rules of every condition kind, 2 thermostats.
func benchConfig() -> GatewayConfig {
    var y = "gateway: { id: bench, state_dir: /tmp/unused }\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\ndevices:\n"
    for i in 1...20 { y += "  - { id: room-\(i), adapter: simulated, kind: temperature }\n" }
    for i in 1...5 { y += "  - { id: pir-\(i), adapter: simulated, kind: motion }\n" }
    y += "rules:\n"
    for i in 1...20 {
        y += "  - { name: hot-\(i), when: { temperature: { device: room-\(i), above: \(20 + i % 5), for: 30s } }, then: [ { alert: { message: \"{device} at {celsius}\" } } ], cooldown: 1m }\n"
    }
    for i in 1...10 {
        y += "  - { name: rise-\(i), when: { rate: { device: room-\(i), rises_by: 1.5, within: 2m } }, then: [ { alert: { message: \"{device} rising\" } } ] }\n"
    }
    for i in 1...5 {
        y += "  - { name: cold-\(i), when: { temperature: { device: 'room-\(i)*', below: 17 } }, then: [ { alert: { message: \"{device} cold\" } } ] }\n"
        y += "  - { name: silent-\(i), when: { stale: { device: room-\(i + 10), for: 5m } }, then: [ { alert: { message: \"{device} silent\" } } ] }\n"
        y += "  - { name: away-\(i), when: { no_motion: { device: pir-\(i), for: 1h } }, then: [ { thermostat: { name: t\(i % 2 + 1), target: 17 } } ] }\n"
        y += "  - { name: night-\(i), when: { all: [ { motion: { device: pir-\(i) } }, { time: { after: '23:00', before: '06:00' } } ] }, then: [ { alert: { severity: critical, message: \"motion in {location}\" } } ] }\n"
    }
    y += "thermostats:\n"
    for i in 1...2 {
        y += "  - { name: t\(i), device: room-\(i), target: 21, min_on: 2m, min_off: 2m, stale_after: 2m, max_run: 4h, actuator: { mqtt: { topic: b\(i) } } }\n"
    }
    let result = ConfigLoader(files: MemoryFiles(files: ["/bench.yaml": y]), environment: [:], adapters: AdapterRegistry.all)
        .load(path: "/bench.yaml")
    guard let config = result.config else {
        fatalError("bench config: \(result.diagnostics.map(\.description).joined(separator: "\n"))")
    }
    return config
}

/// Events per second through 50 rules and 2 thermostats on one core (this thread).
func rulesEngine(events: Int) -> Result {
    let config = benchConfig()
    let start = Timestamp(rfc3339: "2026-11-26T12:00:00Z")!
    var engine = RuleEngine(config: config, start: RuleInstant(wall: start))
    _ = engine.start(at: RuleInstant(wall: start))
    let ids = config.devices.map(\.id)
    let id = EventID("00000000-0000-7000-8000-000000000000")!
    // Prepared outside the timed loop: the events a pipeline would hand over.
    var state: UInt64 = 1
    var celsius = Array(repeating: 20.0, count: ids.count)
    var prepared: [Event] = []
    prepared.reserveCapacity(100_000)
    for n in 0..<100_000 {
        let d = n % ids.count
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let data: EventData
        if ids[d].hasPrefix("pir") {
            data = .motion(location: nil)
        } else {
            celsius[d] += Double(Int64(state >> 33) % 21 - 10) / 100
            data = .temperature(celsius: celsius[d], location: nil)
        }
        prepared.append(Event(id: id, source: "bench", subject: ids[d], time: start, seq: UInt64(n), data: data))
    }
    var outputs = 0
    let clock = ContinuousClock()
    let began = clock.now
    var now = RuleInstant(wall: start)
    for n in 0..<events {
        // 1 ms between events; time of day moves with it (no time-zone work in the loop).
        now.monotonic += 1
        now.wall.millisecondsSinceEpoch += 1
        if n % 1000 == 0 { now.local = LocalTime(wall: now.wall, utcOffsetSeconds: 0) }
        outputs += engine.handle(prepared[n % prepared.count], at: now).count
        if n % 1000 == 0 { outputs += engine.tick(at: now).count }
    }
    let seconds = (clock.now - began).secondsDouble
    note("rules engine: \(events) events, \(outputs) outputs in \(String(format: "%.3f", seconds)) s")
    return Result(name: "rules engine (50 rules, 2 thermostats, one core)", figure: Double(events) / seconds, unit: "events/s",
                  target: 1_000_000, comparison: .atLeast)
}

