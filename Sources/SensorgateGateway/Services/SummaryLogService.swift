// One log line every few minutes (`run --summary-interval`, 5m by default) saying what the
// gateway did since the last one: events by type, failed reads by device and reason, what the
// buffer holds and the uplink. At the default level a daemon logs this and what needs attention,
// not a line per reading.

import Logging
import SensorgateCore
import SensorgateRuntime
import ServiceLifecycle

struct SummaryLogService: Service {
    let health: GatewayHealth
    let interval: Duration
    let logger: Logger

    func run() async {
        var previous = health.snapshot()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let interval = self.interval
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: interval) })) != nil else { return }
            let now = health.snapshot()
            let (line, metadata) = Self.line(from: previous, to: now, interval: interval)
            logger.info("\(line)", metadata: metadata)
            previous = now
        }
    }

    /// `summary (last 5m): 150 events (TemperatureReading 140, MotionDetected 10); failed reads: attic readError 3; buffer 0; uplink connected to 127.0.0.1:1883`
    static func line(from a: GatewayHealth.Snapshot, to b: GatewayHealth.Snapshot, interval: Duration) -> (String, Logger.Metadata) {
        let events = b.pipeline.emitted - a.pipeline.emitted
        var byType: [String] = []
        for type in EventType.allCases {
            let n = (b.pipeline.byType[type] ?? 0) - (a.pipeline.byType[type] ?? 0)
            if n > 0 { byType.append("\(type.rawValue) \(n)") }
        }
        var failures: [String] = []
        var failed = 0
        for device in b.pipeline.failures.byDevice.keys.sorted() {
            let now = b.pipeline.failures.byDevice[device] ?? [:], before = a.pipeline.failures.byDevice[device] ?? [:]
            for reason in now.keys.sorted() {
                let n = (now[reason] ?? 0) - (before[reason] ?? 0)
                if n > 0 {
                    failures.append("\(device) \(reason.rawValue) \(n)")
                    failed += n
                }
            }
        }
        var line = "summary (last \(DurationText.format(interval))): \(events) event\(events == 1 ? "" : "s")"
        if !byType.isEmpty { line += " (\(byType.joined(separator: ", ")))" }
        line += failures.isEmpty ? "; no failed reads" : "; failed reads: \(failures.joined(separator: ", "))"
        line += "; buffer \(b.stored); uplink \(b.uplink)"
        let metadata: Logger.Metadata = ["events": "\(events)", "failed": "\(failed)", "buffered": "\(b.stored)"]
        return (line, metadata)
    }
}
