// Whether live delivery is backed up (the forwarder's window full, events queued, or a backlog
// still draining): set by the forwarder's thread on every turn, read by the replay thread, which
// holds its events back meanwhile so a replay never slows live delivery.

import Synchronization

public final class LiveBacklog: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public var isBackedUp: Bool { value.load(ordering: .relaxed) }
    public func set(_ backedUp: Bool) { value.store(backedUp, ordering: .relaxed) }
}
