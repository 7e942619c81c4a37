// Every metric the gateway exports, named the Prometheus way (`sensorgate_` prefix, base units,
// `_total` for counters), with the help text `/metrics` prints for it; and the swift-metrics
// factory that registers them with swift-prometheus under those texts. Code counts through
// swift-metrics' API (`Counter(label:dimensions:factory:)`) with these names.

import CoreMetrics
import Prometheus

enum MetricName {
    static let events = "sensorgate_events_total"
    static let readings = "sensorgate_readings_total"
    static let readFailures = "sensorgate_read_failures_total"
    static let heldBack = "sensorgate_filtered_readings_total"
    static let lastReading = "sensorgate_device_last_reading_timestamp_seconds"
    static let published = "sensorgate_published_events_total"
    static let acknowledged = "sensorgate_acknowledged_events_total"
    static let refused = "sensorgate_refused_events_total"
    static let deadLettered = "sensorgate_dead_lettered_events_total"
    static let bufferWritten = "sensorgate_buffer_written_events_total"
    static let bufferDropped = "sensorgate_buffer_dropped_events_total"
    static let bufferWriteFailures = "sensorgate_buffer_write_failures_total"
    static let bufferEvents = "sensorgate_buffer_events"
    static let bufferBytes = "sensorgate_buffer_bytes"
    static let bufferOldestAge = "sensorgate_buffer_oldest_event_age_seconds"
    static let uplinkUp = "sensorgate_uplink_up"
    static let uplinkConnects = "sensorgate_uplink_connects_total"
    static let uplinkDisconnects = "sensorgate_uplink_disconnects_total"
    static let uplinkStalls = "sensorgate_uplink_stalls_total"
    static let inFlight = "sensorgate_uplink_inflight_messages"
    static let ackLatency = "sensorgate_publish_ack_latency_seconds"
    static let ruleEvaluations = "sensorgate_rule_evaluations_total"
    static let alertsRaised = "sensorgate_alerts_raised_total"
    static let alertsResolved = "sensorgate_alerts_resolved_total"
    static let alertsActive = "sensorgate_alerts_active"
    static let thermostatOutput = "sensorgate_thermostat_output"
    static let thermostatTarget = "sensorgate_thermostat_target_celsius"
    static let startTime = "sensorgate_process_start_time_seconds"
    static let residentMemory = "sensorgate_process_resident_memory_bytes"
    static let buildInfo = "sensorgate_build_info"
    static let httpResponses = "sensorgate_http_responses_total"

    static let help: [String: String] = [
        events: "Events emitted (each given a seq), by CloudEvents type.",
        readings: "Readings (of every channel), motion and contact events taken from each device, after its filters.",
        heldBack: "Readings a device's filters held back instead of emitting, by device and reason (delta, throttle).",
        readFailures: "Reads that gave no reading, by device and reason (crcFailed, outOfRange, readError, ...).",
        lastReading: "When each device last gave a reading, in seconds since the Unix epoch.",
        published: "Events published to the broker, resends included.",
        acknowledged: "Events the broker acknowledged (PUBACK).",
        refused: "PUBACKs carrying a refusal reason code (MQTT 5, 0x80 and above).",
        deadLettered: "Events moved to the dead-letter table after repeated refusals.",
        bufferWritten: "Events written to the offline buffer (buffer.db).",
        bufferDropped: "Events dropped by buffer.on_full because the buffer or memory was full.",
        bufferWriteFailures: "Group commits to buffer.db that failed (disk full, I/O error).",
        bufferEvents: "Events in the offline buffer (buffer.db).",
        bufferBytes: "Bytes of topic and payload in the offline buffer, as buffer.max_bytes counts them.",
        bufferOldestAge: "Age of the oldest event in the offline buffer, 0 when it is empty.",
        uplinkUp: "1 while the gateway is connected to its broker, else 0.",
        uplinkConnects: "Connections made to the broker.",
        uplinkDisconnects: "Connections to the broker that ended (lost, stalled or dropped).",
        uplinkStalls: "Connections dropped because no PUBACK came for mqtt.ack_timeout.",
        inFlight: "Events published and waiting for their PUBACK.",
        ackLatency: "Time from publishing an event to its PUBACK.",
        ruleEvaluations: "Times each rule's condition was evaluated.",
        alertsRaised: "AlertRaised events emitted, by rule.",
        alertsResolved: "AlertResolved events emitted, by rule.",
        alertsActive: "Alerts raised and not yet resolved.",
        thermostatOutput: "1 while the thermostat's output (heater or cooler) is on, else 0.",
        thermostatTarget: "The thermostat's target temperature in degrees Celsius.",
        startTime: "Start time of the process in seconds since the Unix epoch.",
        residentMemory: "Resident memory of the process in bytes.",
        buildInfo: "Always 1; the labels name the build that runs.",
        httpResponses: "HTTP responses sent, by status code.",
    ]

    /// publish → PUBACK: sub-millisecond on a LAN, seconds over a bad link.
    static let ackBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10),
    ]
}

/// swift-metrics → swift-prometheus with each metric's help text (swift-metrics' own API has no
/// place for one, and Prometheus' linter wants one for every metric).
struct DescribedPrometheusFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    private func described(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricName.help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: described(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: described(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        registry.makeGauge(descriptor: described(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: described(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: described(label), labels: dimensions, buckets: MetricName.ackBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
