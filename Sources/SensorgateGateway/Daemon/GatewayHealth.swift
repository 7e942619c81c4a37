// What the status reports (sd_notify STATUS=, the watchdog, the periodic summary line) read:
// the pipeline's and the forwarder's heartbeats and counters, and which broker is the uplink.
// Reading it never touches the threads it describes.

import SensorgateCore
import SensorgateRuntime

struct GatewayHealth: Sendable {
    let pipeline: PipelineMonitor
    /// Nil without an `mqtt` section.
    let forwarder: ForwarderStatus?
    /// The config in force (reloads change the broker).
    let config: Locked<GatewayConfig>

    enum Uplink: Equatable, CustomStringConvertible {
        case none
        case connecting(String)
        case connected(String)
        case down(String)

        var description: String {
            switch self {
            case .none: "none (no mqtt section)"
            case .connecting(let broker): "not yet connected to \(broker)"
            case .connected(let broker): "connected to \(broker)"
            case .down(let broker): "lost \(broker), reconnecting"
            }
        }
    }

    struct Snapshot {
        var at: Int64
        var pipeline: PipelineSummary
        var stored: Int
        var uplink: Uplink
    }

    /// systemd may call the gateway started once the pipeline runs and, with a broker, the first
    /// connection attempt has been made (so `systemctl start` returns with the uplink known or trying).
    var ready: Bool {
        guard pipeline.heartbeat.lastBeat != nil else { return false }
        return forwarder.map { $0.snapshot.attempted } ?? true
    }

    /// The threads whose loops must keep turning; the watchdog is fed only while they do.
    var heartbeats: [Heartbeat] { [pipeline.heartbeat] + (forwarder.map { [$0.heartbeat] } ?? []) }

    func snapshot(at now: Int64 = Heartbeat.now()) -> Snapshot {
        let status = forwarder?.snapshot
        var uplink = Uplink.none
        if let status, let mqtt = config.value.mqtt {
            // The broker the forwarder is on (after a failover, not the first of the list).
            let broker = status.broker.isEmpty ? "\(mqtt.host):\(mqtt.port)" : status.broker
            uplink = status.connected ? .connected(broker) : status.connects == 0 ? .connecting(broker) : .down(broker)
        }
        return Snapshot(at: now, pipeline: pipeline.summary, stored: status?.stored ?? 0, uplink: uplink)
    }
}

/// When the watchdog may be fed: every heartbeat has beaten within `limit` ms (a loop turns at
/// least once a second while it is healthy, so a silent one is wedged).
enum WatchdogCheck {
    static func healthy(beats: [Int64?], now: Int64, limit: Int64) -> Bool {
        beats.allSatisfy { beat in beat.map { now - $0 <= limit } ?? false }
    }
}
