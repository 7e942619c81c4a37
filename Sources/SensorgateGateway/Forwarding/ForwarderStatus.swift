// What the forwarder's thread tells the rest of the gateway about itself: connected or not,
// whether the first connection attempt has been made, what the buffer holds, its counters.
// Written by the forwarder, read by anyone, under a Mutex.

import SensorgateCore
import SensorgateRuntime
import Synchronization

public final class ForwarderStatus: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var connected = false
        /// At least one connection attempt has been made (succeeded or not).
        public var attempted = false
        public var connects = 0
        /// Events in `buffer.db`.
        public var stored = 0
        public var counters = DeliveryStateMachine.Counters()
    }

    private let state = Mutex(Snapshot())
    /// Beaten by the forwarder's loop each turn (at least once a second), for the watchdog.
    public let heartbeat = Heartbeat()

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ new: Snapshot) { state.withLock { $0 = new } }
}
