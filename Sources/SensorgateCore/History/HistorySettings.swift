// `history:` in the config: how long and how much of the delivered events the gateway keeps for
// replays, and how replays are bounded. Absent: no history is kept and no replay is served.

public struct HistorySettings: Sendable, Equatable {
    /// Delivered events older than this are pruned (while the host clock is synchronized).
    public var keep: Duration = .seconds(7 * 86_400)
    /// The stored events' bytes (payload and topic) are kept under this.
    public var maxBytes: Int64 = 256 * 1024 * 1024
    /// Replayed events per second, all replays together.
    public var replayRate: Int = 1_000
    /// The most events of history one request may cover (before its type and subject filters).
    public var replayMaxEvents: Int = 100_000

    public init() {}
}
