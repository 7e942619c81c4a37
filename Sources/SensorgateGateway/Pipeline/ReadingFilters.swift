// The filter chains of every filtered channel, on the pipeline's thread (no lock): readings go
// through them before they become events, so rules, thermostats and consumers see the filtered
// values. Readings a filter holds back are counted per device and reason, never dropped silently.

import SensorgateCore

struct ReadingFilters {
    private var chains: [String: [EventType: FilterChain]] = [:]
    /// Readings that did not become events, by device and reason.
    private(set) var held: [String: [FilterChain.Reason: Int]] = [:]
    /// The earliest deadline of any chain (a throttled reading, a heartbeat), monotonic ms.
    private(set) var nextDeadline: Int64? = nil

    init(config: GatewayConfig) { reconfigure(config) }

    var isEmpty: Bool { chains.isEmpty }

    /// After a reload: channels whose filters did not change keep their state (a heartbeat
    /// keeps its rhythm, a deadband its last value); the others start fresh.
    mutating func reconfigure(_ config: GatewayConfig) {
        var next: [String: [EventType: FilterChain]] = [:]
        for device in config.devices {
            for type in device.eventTypes where type.isNumeric {
                let spec = device.filters(for: type)
                guard !spec.isEmpty else { continue }
                if let kept = chains[device.id]?[type], kept.spec == spec {
                    next[device.id, default: [:]][type] = kept
                } else {
                    next[device.id, default: [:]][type] = FilterChain(spec: spec)
                }
            }
        }
        chains = next
        recomputeDeadline()
    }

    enum Result: Equatable {
        /// Emit this reading now.
        case emit(ReadingValue)
        /// Held back or waiting: nothing to emit now.
        case none
        /// The filters made the number infinite or NaN.
        case invalid(Double)
    }

    /// A reading of `device` read at `time`, at monotonic `now`.
    mutating func offer(device: String, value: ReadingValue, time: Timestamp, at now: Int64) -> Result {
        guard let number = value.number, var chain = chains[device]?[value.eventType] else { return .emit(value) }
        let offer = chain.offer(number, time: time, at: now)
        chains[device]![value.eventType] = chain
        if offer.replaced { held[device, default: [:]][.throttle, default: 0] += 1 }
        if let deadline = chain.nextDeadline() { nextDeadline = min(nextDeadline ?? deadline, deadline) }
        switch offer.action {
        case .publish(let x): return .emit(value.with(number: x))
        case .held(let reason):
            held[device, default: [:]][reason, default: 0] += 1
            return .none
        case .deferred: return .none
        case .invalid: return .invalid(number)
        }
    }

    /// Values whose deadline has come (throttled readings whose interval ended, heartbeats).
    mutating func due(at now: Int64) -> [(device: String, value: ReadingValue, time: Timestamp?)] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        var out: [(device: String, value: ReadingValue, time: Timestamp?)] = []
        for (device, byType) in chains {
            for (type, var chain) in byType {
                var changed = false
                while let due = chain.due(at: now) {
                    changed = true
                    if let value = ReadingValue.numeric(type, due.value) { out.append((device, value, due.time)) }
                }
                if changed { chains[device]![type] = chain }
            }
        }
        recomputeDeadline()
        return out
    }

    var totalHeld: Int { held.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    /// `garage: 12 (delta 10, throttle 2)`, for the log.
    var heldSummary: String {
        held.keys.sorted().map { device in
            let byReason = held[device]!
            let parts = FilterChain.Reason.allCases.compactMap { r in byReason[r].map { "\(r.rawValue) \($0)" } }
            return "\(device): \(byReason.values.reduce(0, +)) (\(parts.joined(separator: ", ")))"
        }.joined(separator: "; ")
    }

    private mutating func recomputeDeadline() {
        nextDeadline = nil
        for byType in chains.values {
            for chain in byType.values {
                if let d = chain.nextDeadline() { nextDeadline = min(nextDeadline ?? d, d) }
            }
        }
    }
}
