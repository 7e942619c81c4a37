// The lowest and highest reading within a sliding time window, kept as two monotonic queues
// so each reading costs O(1) amortised however many readings the window holds.

struct RateWindow: Sendable {
    private struct Sample: Sendable { var time: Int64; var celsius: Double }
    private var lows: [Sample] = []   // rising celsius; the front is the window's minimum
    private var highs: [Sample] = []  // falling celsius; the front is the window's maximum
    private var lowHead = 0
    private var highHead = 0
    private(set) var latest: Double? = nil
    private(set) var latestTime: Int64 = 0

    /// Readings kept per queue; beyond this the oldest go first, which only shortens the window
    /// for a sensor reporting more often than this many times per window.
    static let limit = 4096

    mutating func add(_ celsius: Double, at time: Int64) {
        while lows.count > lowHead, lows[lows.count - 1].celsius >= celsius { lows.removeLast() }
        lows.append(Sample(time: time, celsius: celsius))
        while highs.count > highHead, highs[highs.count - 1].celsius <= celsius { highs.removeLast() }
        highs.append(Sample(time: time, celsius: celsius))
        if lows.count - lowHead > Self.limit { lowHead += 1 }
        if highs.count - highHead > Self.limit { highHead += 1 }
        latest = celsius
        latestTime = time
        compact()
    }

    /// Forgets readings older than `within` before `now`.
    mutating func expire(at now: Int64, within: Int64) {
        while lowHead < lows.count, now - lows[lowHead].time > within { lowHead += 1 }
        while highHead < highs.count, now - highs[highHead].time > within { highHead += 1 }
        if latest != nil, now - latestTime > within { latest = nil }
        compact()
    }

    var minimum: Double? { lowHead < lows.count ? lows[lowHead].celsius : nil }
    var maximum: Double? { highHead < highs.count ? highs[highHead].celsius : nil }

    /// When the oldest reading still inside leaves the window.
    func oldestTime() -> Int64? {
        let a = lowHead < lows.count ? lows[lowHead].time : nil
        let b = highHead < highs.count ? highs[highHead].time : nil
        switch (a, b) {
        case let (a?, b?): return min(a, b)
        default: return a ?? b
        }
    }

    private mutating func compact() {
        if lowHead > 64, lowHead * 2 > lows.count { lows.removeFirst(lowHead); lowHead = 0 }
        if highHead > 64, highHead * 2 > highs.count { highs.removeFirst(highHead); highHead = 0 }
    }
}
