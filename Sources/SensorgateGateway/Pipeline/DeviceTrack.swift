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
    /// Which of its failures and recoveries are logged.
    var outageLog = OutageLog()
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

    /// A reading of one of this device's channels was emitted. The channel's last value is
    /// kept; the first channel's (the device's type) is also its headline value and history.
    mutating func record(_ event: Event) {
        readings.increment()
        status.readings += 1
        status.time = event.time
        status.seq = event.seq
        guard let reading = event.data.readingValue else { return }
        let (value, unit) = Self.valueAndUnit(reading)
        let channel = ChannelStatus(type: event.type, value: value, unit: unit, text: reading.display, time: event.time, seq: event.seq)
        if let i = status.channels.firstIndex(where: { $0.type == event.type }) {
            status.channels[i] = channel
        } else {
            status.channels.append(channel)
        }
        guard event.type == status.type else { return }
        status.value = value
        status.unit = unit
        status.text = reading.display
        switch reading {
        case .temperature(let v), .humidity(let v), .pressure(let v), .battery(let v): status.history.add(v, at: event.time)
        case .motion: status.history.add(1, at: event.time)
        case .contact(let open): status.history.add(open ? 1 : 0, at: event.time)
        }
    }

    /// The number and unit /status shows for a reading; motion and contacts have none.
    static func valueAndUnit(_ reading: ReadingValue) -> (Double?, String?) {
        switch reading {
        case .temperature(let c): return (c, "°C")
        case .humidity(let p): return (p, "%RH")
        case .pressure(let h): return (h, "hPa")
        case .battery(let p): return (p, "%")
        case .motion, .contact: return (nil, nil)
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
