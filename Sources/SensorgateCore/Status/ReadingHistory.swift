// The last hour of one device's values for the status page's sparkline: 120 buckets of 30 s,
// each the mean of the readings that fell in it (for motion, how many there were). Fixed size
// whatever the reading rate, and adding a reading is a division and two array writes, so the
// pipeline can keep one per device on its hot path.

public struct ReadingHistory: Sendable, Equatable {
    public static let bucketSeconds: Int64 = 30
    public static let bucketCount = 120

    private var sums: [Double] = []
    private var counts: [Int32] = []
    /// The bucket (seconds since the epoch / 30) the newest slot stands for; nil before any value.
    public private(set) var newest: Int64? = nil

    public init() {}

    /// Counts `value` in the bucket of `time`. A time older than the hour shown is ignored; a
    /// newer one moves the window on, emptying the buckets passed over.
    public mutating func add(_ value: Double, at time: Timestamp) {
        let bucket = Timestamp.floorDiv(time.secondsSinceEpoch, Self.bucketSeconds)
        let n = Int64(Self.bucketCount)
        guard let current = newest else {
            sums = Array(repeating: 0, count: Self.bucketCount)
            counts = Array(repeating: 0, count: Self.bucketCount)
            newest = bucket
            return add(value, at: time)
        }
        if bucket > current {
            let passed = min(bucket - current, n)
            for step in 1...passed {
                let slot = Int(((current + step) % n + n) % n)
                sums[slot] = 0
                counts[slot] = 0
            }
            newest = bucket
        } else if bucket <= current - n {
            return
        }
        let slot = Int((bucket % n + n) % n)
        sums[slot] += value
        counts[slot] &+= 1
    }

    /// Oldest first, one per bucket up to `bucket` (the current one): the mean, or nil where
    /// there was nothing. `counting`: the number of values instead of their mean (motion).
    public func values(through bucket: Int64, counting: Bool = false) -> [Double?] {
        let n = Int64(Self.bucketCount)
        guard let newest else { return Array(repeating: nil, count: Self.bucketCount) }
        return (0..<n).map { i -> Double? in
            let b = bucket - (n - 1) + i
            guard b <= newest, b > newest - n else { return counting ? 0 : nil }
            let slot = Int((b % n + n) % n)
            if counting { return Double(counts[slot]) }
            return counts[slot] == 0 ? nil : sums[slot] / Double(counts[slot])
        }
    }

    public static func bucket(of time: Timestamp) -> Int64 { Timestamp.floorDiv(time.secondsSinceEpoch, bucketSeconds) }
}
