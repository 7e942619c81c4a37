// The gateway's metrics: one Prometheus registry per run, and the swift-metrics handles the
// threads count with. Handles are made once and kept (per device, rule and thermostat by the
// pipeline; the delivery counters here), so counting on the hot path is an atomic add, never a
// registry lookup under a lock.

import CoreMetrics
import Prometheus
import SensorgateCore

public final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: DescribedPrometheusFactory

    /// By type, made up front: emitting an event counts without a lookup.
    let events: [EventType: CoreMetrics.Counter]
    let delivery: DeliveryCounters
    let uplinkUp, inFlight, bufferEvents, bufferBytes, bufferOldestAge: CoreMetrics.Gauge
    let ackLatency: CoreMetrics.Timer
    let alertsActive, residentMemory: CoreMetrics.Gauge
    let httpResponses: [Int: CoreMetrics.Counter]

    /// The delivery state machine's counters, as Prometheus counters: the forwarder adds what
    /// changed since it last looked.
    struct DeliveryCounters: Sendable {
        let published, acknowledged, refused, deadLettered, written, dropped, writeFailures, stalls: CoreMetrics.Counter
        let connects, disconnects: CoreMetrics.Counter
    }

    public init(startTime: Timestamp) {
        factory = DescribedPrometheusFactory(registry: registry)
        let f = factory
        func counter(_ name: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: name, factory: f) }
        func gauge(_ name: String) -> CoreMetrics.Gauge { CoreMetrics.Gauge(label: name, factory: f) }
        var events: [EventType: CoreMetrics.Counter] = [:]
        for type in EventType.allCases {
            events[type] = CoreMetrics.Counter(label: MetricName.events, dimensions: [("type", type.rawValue)], factory: f)
        }
        self.events = events
        delivery = DeliveryCounters(
            published: counter(MetricName.published), acknowledged: counter(MetricName.acknowledged),
            refused: counter(MetricName.refused), deadLettered: counter(MetricName.deadLettered),
            written: counter(MetricName.bufferWritten), dropped: counter(MetricName.bufferDropped),
            writeFailures: counter(MetricName.bufferWriteFailures), stalls: counter(MetricName.uplinkStalls),
            connects: counter(MetricName.uplinkConnects), disconnects: counter(MetricName.uplinkDisconnects))
        uplinkUp = gauge(MetricName.uplinkUp)
        inFlight = gauge(MetricName.inFlight)
        bufferEvents = gauge(MetricName.bufferEvents)
        bufferBytes = gauge(MetricName.bufferBytes)
        bufferOldestAge = gauge(MetricName.bufferOldestAge)
        ackLatency = CoreMetrics.Timer(label: MetricName.ackLatency, factory: f)
        alertsActive = gauge(MetricName.alertsActive)
        residentMemory = gauge(MetricName.residentMemory)
        var responses: [Int: CoreMetrics.Counter] = [:]
        for code in [200, 400, 401, 404, 405, 408, 413, 431, 500, 503, 505] {
            responses[code] = CoreMetrics.Counter(label: MetricName.httpResponses, dimensions: [("code", String(code))], factory: f)
        }
        httpResponses = responses
        gauge(MetricName.startTime).record(Double(startTime.millisecondsSinceEpoch) / 1000)
        CoreMetrics.Gauge(label: MetricName.buildInfo, dimensions: [("version", BuildInfo.version), ("swift", BuildInfo.swiftVersion)], factory: f).record(1)
    }

    func counter(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
    }

    func gauge(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}

/// What build this is, for `sensorgate_build_info` and /status.
public enum BuildInfo {
    public static var version: String { SensorgateVersion.current }
    public static var swiftVersion: String {
        #if compiler(>=6.4)
        "6.4+"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "6.x"
        #endif
    }
}
