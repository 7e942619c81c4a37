// What the forwarder's thread tells the rest of the gateway about itself: the link, the buffer,
// its counters (UplinkStatus), for /status, /healthz and the status page. Written by the
// forwarder a few times a second at most, read by anyone, under a Mutex.

import SensorgateCore
import SensorgateRuntime
import Synchronization

public final class ForwarderStatus: Sendable {
    private let state: Mutex<UplinkStatus>

    public init(broker: String = "", maxEvents: Int = 0, maxBytes: Int64 = 0) {
        var initial = UplinkStatus()
        initial.broker = broker
        initial.maxEvents = maxEvents
        initial.maxBytes = maxBytes
        state = Mutex(initial)
    }

    /// Beaten by the forwarder's loop each turn (at least once a second), for the watchdog.
    public let heartbeat = Heartbeat()

    public var snapshot: UplinkStatus { state.withLock { $0 } }

    func update(_ body: (inout UplinkStatus) -> Void) { state.withLock { body(&$0) } }
}
