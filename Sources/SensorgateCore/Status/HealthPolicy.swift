// When the gateway is not doing its job, and why: the reasons /healthz answers 503 with. Pure:
// the caller measures the ages on its clocks and passes them in. Each reason is documented in
// the README ("Looking inside") under the same name.

public enum HealthReason: String, Sendable, CaseIterable {
    /// The broker has been unreachable longer than `http.uplink_down_after`, and events pile up.
    case uplinkDown = "uplink_down"
    /// buffer.db holds 90 % or more of `max_events` or `max_bytes`: drops are near.
    case bufferNearlyFull = "buffer_nearly_full"
    /// Every device has failed since its last reading.
    case allDevicesFailing = "all_devices_failing"
    /// The pipeline has not run its rule timers for longer than `tickerLateAfter` (due every second).
    case ruleTickerLate = "rule_ticker_late"
}

public struct HealthProblem: Sendable, Equatable {
    public var reason: HealthReason
    public var message: String
}

public struct HealthPolicy: Sendable {
    public var uplinkDownAfter: Int64
    public var tickerLateAfter: Int64 = 5_000
    public var nearlyFull = 0.9

    public init(uplinkDownAfter: Int64) { self.uplinkDownAfter = uplinkDownAfter }

    /// `uplink`: nil without an `mqtt` section. `downFor`: how long the link has been down (ms),
    /// nil while it is up. `tickerSilentFor`: ms since the pipeline last ran its timers.
    public func problems(pipeline: PipelineStatus, uplink: UplinkStatus?, downFor: Int64?, tickerSilentFor: Int64) -> [HealthProblem] {
        var found: [HealthProblem] = []
        if let uplink {
            if let downFor, downFor >= uplinkDownAfter, uplink.waiting > uplink.waitingAtDown {
                found.append(.init(reason: .uplinkDown,
                                   message: "the broker \(uplink.broker) has been unreachable for \(DurationText.format(.seconds(downFor / 1000))) and \(uplink.waiting - uplink.waitingAtDown) event(s) have piled up since"))
            }
            let byCount = uplink.maxEvents > 0 && Double(uplink.stored) >= nearlyFull * Double(uplink.maxEvents)
            let byBytes = uplink.maxBytes > 0 && Double(uplink.storedBytes) >= nearlyFull * Double(uplink.maxBytes)
            if byCount || byBytes {
                let what = byCount ? "\(uplink.stored) of \(uplink.maxEvents) events" : "\(uplink.storedBytes) of \(uplink.maxBytes) bytes"
                found.append(.init(reason: .bufferNearlyFull, message: "the offline buffer holds \(what); past the bound, events are dropped"))
            }
        }
        if !pipeline.devices.isEmpty, pipeline.devices.allSatisfy({ $0.failingFor > 0 }) {
            let names = pipeline.devices.map { "\($0.id) (\($0.lastFailure ?? "failing"))" }.joined(separator: ", ")
            found.append(.init(reason: .allDevicesFailing, message: "every device is failing: \(names)"))
        }
        if tickerSilentFor >= tickerLateAfter {
            found.append(.init(reason: .ruleTickerLate,
                               message: "the rule timers last ran \(tickerSilentFor / 1000) s ago (due every second): the pipeline is stuck or starved"))
        }
        return found
    }
}
