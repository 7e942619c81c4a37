// Which broker of `mqtt.urls` to try next, with no I/O. Attempts go to the brokers in turn: the
// first that answers is used; a failed attempt or a lost connection moves on to the next one (the
// delay between attempts is ReconnectPolicy's, the same jittered backoff as with one broker).
// While connected to another broker than the first (the primary), the session probes the
// primary now and then (a TCP connect); once it has answered every probe for
// `preferPrimaryAfter`, the session leaves the other broker cleanly and goes back to the
// primary. Times are milliseconds on a monotonic clock.

public struct BrokerSelection: Sendable, Equatable {
    public let count: Int
    /// The primary answering this long: go back to it.
    public let preferPrimaryAfter: Int64
    /// How often the primary is probed while on another broker.
    public let probeInterval: Int64
    /// The broker the next (or current) attempt goes to; 0 is the primary.
    public private(set) var current = 0
    /// The broker of the connection now up, if any.
    public private(set) var connected: Int? = nil
    /// The broker of the last connection that was up (nil before the first).
    public private(set) var previous: Int? = nil
    private var primaryUpSince: Int64? = nil
    public private(set) var nextProbe: Int64? = nil

    public init(count: Int, preferPrimaryAfter: Int64 = 300_000) {
        self.count = max(1, count)
        self.preferPrimaryAfter = max(0, preferPrimaryAfter)
        probeInterval = max(1_000, min(30_000, preferPrimaryAfter / 4))
    }

    /// The attempt on `current` succeeded. Returns the broker it replaces when it is a switch
    /// (the last connection was to another one).
    public mutating func connectionUp(at now: Int64) -> Int? {
        let from = previous.flatMap { $0 == current ? nil : $0 }
        connected = current
        previous = current
        primaryUpSince = nil
        nextProbe = current == 0 ? nil : now + probeInterval
        return from
    }

    /// The attempt on `current` failed or its connection ended: the next attempt goes to the
    /// next broker (round robin). Returns it.
    @discardableResult
    public mutating func connectionEnded() -> Int {
        connected = nil
        nextProbe = nil
        primaryUpSince = nil
        current = (current + 1) % count
        return current
    }

    /// Connected to another broker than the primary and a probe of the primary is due.
    public func probeDue(at now: Int64) -> Bool {
        guard let nextProbe, connected != nil, connected != 0 else { return false }
        return now >= nextProbe
    }

    /// What a probe of the primary found. True: the primary has answered for
    /// `preferPrimaryAfter`; leave the current broker (then `returningToPrimary`).
    public mutating func probed(up: Bool, at now: Int64) -> Bool {
        guard connected != nil, connected != 0 else { return false }
        nextProbe = now + probeInterval
        guard up else {
            primaryUpSince = nil
            return false
        }
        if primaryUpSince == nil { primaryUpSince = now }
        return now - (primaryUpSince ?? now) >= preferPrimaryAfter
    }

    /// How long the primary has been answering probes, if it is.
    public func primaryUp(at now: Int64) -> Int64? { primaryUpSince.map { now - $0 } }

    /// The session is leaving the current broker for the primary: the next attempt goes there.
    public mutating func returningToPrimary() {
        connected = nil
        nextProbe = nil
        primaryUpSince = nil
        current = 0
    }
}
