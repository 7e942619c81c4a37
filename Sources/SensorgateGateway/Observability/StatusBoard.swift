// Where the pipeline and the forwarder leave what /status, /healthz and the status page show:
// the pipeline copies its view out once a second (devices, thermostats, alerts), the forwarder
// its link and buffer (ForwarderStatus); the HTTP thread reads both. Nothing on the hot path
// touches it.

import SensorgateCore
import Synchronization

public final class StatusBoard: Sendable {
    public let gatewayID: String
    public let startedAt: Timestamp
    /// CLOCK_BOOTTIME ms at the start.
    public let startedBoot: Int64
    /// nil without an `mqtt` section.
    public let uplink: ForwarderStatus?
    private let pipelineState = Mutex(PipelineStatus())
    /// CLOCK_BOOTTIME ms when the pipeline last ran its rule timers.
    private let ticked: Atomic<Int64>

    public init(gatewayID: String, uplink: ForwarderStatus?) {
        self.gatewayID = gatewayID
        self.uplink = uplink
        startedAt = WallClock.now()
        startedBoot = WallClock.bootMilliseconds()
        ticked = Atomic(startedBoot)
    }

    public var pipeline: PipelineStatus { pipelineState.withLock { $0 } }

    func publish(_ status: PipelineStatus) { pipelineState.withLock { $0 = status } }

    func tick(at boot: Int64) { ticked.store(boot, ordering: .relaxed) }

    public var lastTick: Int64 { ticked.load(ordering: .relaxed) }
}
