// Tells systemd (Type=notify) how the gateway is: READY=1 once the pipeline runs and the first
// broker connection attempt has been made, a STATUS= line a person reads in `systemctl status`
// every few seconds, WATCHDOG=1 only while the pipeline's and the forwarder's loops keep turning,
// and STOPPING=1 as soon as a stop begins. (Reloads are announced by the signal service.) Runs
// only under systemd: started last, so it is the first to hear of a shutdown.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SensorgateCore
import SensorgateRuntime
import ServiceLifecycle

struct SystemdNotifyService: Service {
    let notifier: SystemdNotifier
    let health: GatewayHealth
    /// WATCHDOG_USEC; nil without `WatchdogSec=`.
    let watchdog: Duration?
    let logger: Logger

    static let statusEvery: Int64 = 5_000

    func run() async {
        let (notifier, health, watchdog, logger) = (self.notifier, self.health, self.watchdog, self.logger)
        await withGracefulShutdownHandler {
            _ = try? await cancelWhenGracefulShutdown { try await Self.loop(notifier, health, watchdog, logger) }
        } onGracefulShutdown: {
            notifier.stopping()
        }
    }

    private static func loop(_ notifier: SystemdNotifier, _ health: GatewayHealth, _ watchdog: Duration?, _ logger: Logger) async throws {
        let watchdogMs = watchdog.map { Int64($0.components.seconds) * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
        // A loop wedged for half the interval stops the pings; systemd acts at the full one.
        let limit = watchdogMs.map { max($0 / 2, 3_000) } ?? 0
        var ready = false
        var lastStatus: Int64 = 0
        var lastPing: Int64? = nil
        var rate = EventRate()
        while !Task.isCancelled {
            let now = Heartbeat.now()
            if !ready, health.ready {
                ready = true
                lastStatus = now
                if !notifier.ready(status: statusLine(health.snapshot(at: now), rate: &rate)) {
                    // systemd would wait for READY=1 until TimeoutStartSec= and then stop the service.
                    logger.warning("cannot send READY=1 to NOTIFY_SOCKET \(notifier.socketPath): \(String(cString: strerror(errno)))")
                }
            } else if ready, now - lastStatus >= statusEvery {
                lastStatus = now
                notifier.status(statusLine(health.snapshot(at: now), rate: &rate))
            }
            if ready, let watchdogMs, lastPing.map({ now - $0 >= watchdogMs / 2 }) ?? true,
               WatchdogCheck.healthy(beats: health.heartbeats.map(\.lastBeat), now: now, limit: limit) {
                lastPing = now
                notifier.watchdog()
            }
            let tick = watchdogMs.map { min(1_000, max(50, $0 / 4)) } ?? 1_000
            try await Task.sleep(for: .milliseconds(ready ? tick : 20))
        }
    }

    /// `4.2 events/s, buffer 0, uplink connected to 127.0.0.1:1883, 3 failed reads`
    static func statusLine(_ s: GatewayHealth.Snapshot, rate: inout EventRate) -> String {
        let perSecond = rate.update(emitted: s.pipeline.emitted, at: s.at)
        var line = "\(perSecond) events/s, buffer \(s.stored), uplink \(s.uplink)"
        let failed = s.pipeline.failures.total
        if failed > 0 { line += ", \(failed) failed read\(failed == 1 ? "" : "s")" }
        return line
    }
}

/// Events per second between two looks at the pipeline's count, one decimal.
struct EventRate {
    private var last: (emitted: Int, at: Int64)? = nil

    mutating func update(emitted: Int, at now: Int64) -> String {
        defer { last = (emitted, now) }
        guard let last, now > last.at else { return "0" }
        let tenths = (emitted - last.emitted) * 10_000 / Int(now - last.at)
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }
}
