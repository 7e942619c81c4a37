// The pipeline's thread as the rest of the gateway sees it: a heartbeat each loop turn and its
// counters, copied at most once a second, so the status services never ask the thread anything
// and the thread never waits for them.

import SensorgateRuntime
import Synchronization

public final class PipelineMonitor: Sendable {
    public let heartbeat = Heartbeat()
    private let published = Mutex(PipelineSummary())
    /// When the counters were last copied (CLOCK_MONOTONIC ms; 0: never, the clock starts at boot).
    private let publishedAt = Atomic<Int64>(0)

    public init() {}

    /// Once per loop turn, on the pipeline's thread.
    func beat(_ summary: () -> PipelineSummary) {
        heartbeat.beat()
        let last = publishedAt.load(ordering: .relaxed)
        guard let now = heartbeat.lastBeat, last == 0 || now - last >= 1_000 else { return }
        let copy = summary()
        published.withLock { $0 = copy }
        publishedAt.store(now, ordering: .relaxed)
    }

    /// The counters as of the last copy (at most a second old while the pipeline runs).
    public var summary: PipelineSummary { published.withLock { $0 } }
}
