// One configured device as the pipeline keeps count of it: what /status and the page show
// (last value, time, seq, failures by reason, an hour of history) and the metric handles its
// readings and failures are counted with, made once so a reading costs an atomic add.

import CoreMetrics
import SensorgateCore

struct DeviceTrack {
    var status: DeviceStatus
    let readings: CoreMetrics.Counter
    /// Made at the first reading: a device that never gave one has no time to show.
    private(set) var lastReading: Gauge?
    private var failureCounters: [FailureReason: CoreMetrics.Counter] = [:]
    private let metrics: GatewayMetrics

    init(device: DeviceConfig, metrics: GatewayMetrics) {
        self.metrics = metrics
        status = DeviceStatus(id: device.id, type: device.eventType, location: device.location)
        readings = metrics.counter(MetricName.readings, [("device", device.id)])
    }

    /// Brings the last-reading gauge up to date (once a second, not per reading).
    mutating func exportLastReading() {
        guard let time = status.time else { return }
        if lastReading == nil { lastReading = metrics.gauge(MetricName.lastReading, [("device", status.id)]) }
        lastReading?.record(Double(time.millisecondsSinceEpoch) / 1000)
    }

    /// A reading or a motion event was emitted for this device.
    mutating func record(_ event: Event) {
        readings.increment()
        status.readings += 1
        status.time = event.time
        status.seq = event.seq
        switch event.data {
        case .temperature(let celsius, _):
            status.value = celsius
            status.unit = "°C"
            status.history.add(celsius, at: event.time)
        case .motion:
            status.history.add(1, at: event.time)
        default:
            break
        }
    }

    /// Counts a failure; returns how many of this reason so far.
    mutating func fail(_ reason: FailureReason, detail: String) -> Int {
        let counter: CoreMetrics.Counter
        if let known = failureCounters[reason] {
            counter = known
        } else {
            counter = metrics.counter(MetricName.readFailures, [("device", status.id), ("reason", reason.rawValue)])
            failureCounters[reason] = counter
        }
        counter.increment()
        status.failingFor += 1
        status.lastFailure = "\(reason.rawValue): \(detail)"
        let count = status.failures[reason, default: 0] + 1
        status.failures[reason] = count
        return count
    }

    /// The device left the config: its series leave /metrics.
    func destroy() {
        readings.destroy()
        lastReading?.destroy()
        for counter in failureCounters.values { counter.destroy() }
    }
}
