// Which delivered events the history lets go: a pure decision the offline buffer carries out in
// its group commits. History is pruned from its oldest seq up, so it always holds one stretch of
// seqs (minus events that were never delivered) and "pruned" means exactly "below the oldest
// kept seq". A row goes when the rows' bytes exceed `max_bytes`, or when it is older than `keep`
// by the host clock; age counts only while the clock is synchronized (a board without an RTC
// boots in 1970, or in the future, until NTP has run), and rows out of time order wait behind
// younger ones. Each commit prunes at most `batchLimit` rows, so a lowered limit is caught up
// with over a few commits instead of one long transaction that would hold up delivery.

public struct HistoryRetention: Sendable, Equatable {
    /// One stored row, as the policy sees it.
    public struct Row: Sendable, Equatable {
        public var seq: UInt64
        public var time: Int64
        public var size: Int64
        public init(seq: UInt64, time: Int64, size: Int64) {
            self.seq = seq
            self.time = time
            self.size = size
        }
    }

    /// What to delete: every row with seq <= `throughSeq`; `rows` of them, `bytes` in all.
    public struct Cut: Sendable, Equatable {
        public var throughSeq: UInt64
        public var rows: Int
        public var bytes: Int64
        public init(throughSeq: UInt64, rows: Int, bytes: Int64) {
            self.throughSeq = throughSeq
            self.rows = rows
            self.bytes = bytes
        }
    }

    public var keepMilliseconds: Int64
    public var maxBytes: Int64
    public var batchLimit = 2_000

    public init(keepMilliseconds: Int64, maxBytes: Int64) {
        self.keepMilliseconds = keepMilliseconds
        self.maxBytes = maxBytes
    }

    public init(_ settings: HistorySettings) {
        self.init(keepMilliseconds: settings.keep.milliseconds, maxBytes: settings.maxBytes)
    }

    /// Whether the oldest rows need looking at: too many bytes, or the oldest too old.
    /// `now`: wall-clock milliseconds, nil while the clock is not synchronized.
    public func isDue(totalBytes: Int64, oldestTime: Int64?, now: Int64?) -> Bool {
        if totalBytes > maxBytes { return true }
        guard let now, let oldestTime else { return false }
        return oldestTime < now - keepMilliseconds
    }

    /// The cut over `oldest` (the oldest rows in seq order, at least `batchLimit` of them when
    /// there are that many), nil when nothing goes.
    public func cut(oldest: [Row], totalBytes: Int64, now: Int64?) -> Cut? {
        var bytes = totalBytes
        var removed = 0, removedBytes: Int64 = 0
        var through: UInt64? = nil
        for row in oldest.prefix(batchLimit) {
            let tooBig = bytes > maxBytes
            let tooOld = now.map { row.time < $0 - keepMilliseconds } ?? false
            guard tooBig || tooOld else { break }
            bytes -= row.size
            removed += 1
            removedBytes += row.size
            through = row.seq
        }
        return through.map { Cut(throughSeq: $0, rows: removed, bytes: removedBytes) }
    }
}
