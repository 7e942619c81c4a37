// The one hand-off between the gateway's tasks and threads: a bounded FIFO whose `send`
// suspends while it is full, so a slow consumer slows its producers instead of growing memory
// or blocking a thread of Swift's cooperative pool. Senders on our own threads wait on a
// Wakeup instead (`sendBlocking`); callbacks that must never wait (libmosquitto's) use
// `trySend` and count what does not fit. A consumer thread polls `readable`; an async consumer
// iterates it. Send order is the order elements come out.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

public final class BoundedChannel<Element: Sendable>: Sendable, AsyncSequence {
    public let capacity: Int
    /// Signalled when the channel goes from empty to not empty (and when it closes).
    public let readable = Wakeup()
    private let state: Mutex<State>

    struct State: ~Copyable {
        var items: [Element] = []
        var head = 0
        var count: Int { items.count - head }
        var closed = false
        var receiver: CheckedContinuation<Element?, Never>? = nil
        var senders: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
        /// Wake-ups of threads waiting for room (blocked senders, a producer loop).
        var roomWatchers: [Wakeup] = []

        mutating func popFirst() -> Element? {
            guard head < items.count else { return nil }
            let element = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 256, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(State())
    }

    public var count: Int { state.withLock { $0.count } }
    public var isEmpty: Bool { count == 0 }
    public var hasRoom: Bool { state.withLock { $0.count < capacity } }

    // MARK: Sending

    /// Appends `element`, then suspends while the channel holds more than `capacity`.
    public func send(_ element: Element) async {
        guard enqueue(element) else { return }
        let id = state.withLock { s -> UInt64 in
            defer { s.nextID += 1 }
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.count <= capacity || s.closed || s.cancelled.remove(id) != nil { return true }
                    s.senders.append((id, c))
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let i = s.senders.firstIndex(where: { $0.id == id }) { return s.senders.remove(at: i).continuation }
                s.cancelled.insert(id)
                return nil
            }
            waiting?.resume()
        }
    }

    /// Appends `element` unless the channel is full; false when it did not fit (count it).
    public func trySend(_ element: Element) -> Bool {
        let fits = state.withLock { $0.count < capacity && !$0.closed }
        guard fits else { return false }
        _ = enqueue(element)
        return true
    }

    /// Appends `element` even beyond `capacity` (rare outputs that must neither wait nor be
    /// lost: thermostat commands, control messages).
    public func force(_ element: Element) { _ = enqueue(element) }

    /// From one of our threads: appends `element`, then waits while the channel holds more
    /// than `capacity`, or until `stop` is set. False when stopped while waiting.
    @discardableResult
    public func sendBlocking(_ element: Element, stop: StopSignal) -> Bool {
        guard enqueue(element) else { return true }
        let wakeup = Wakeup()
        while true {
            let full = state.withLock { s -> Bool in
                guard s.count > capacity, !s.closed else { return false }
                s.roomWatchers.append(wakeup)
                return true
            }
            if !full { return true }
            if stop.isSet { return false }
            _ = Wakeup.poll([wakeup.fd, stop.wakeup.fd], timeout: nil)
            wakeup.reset()
        }
    }

    /// True when there is room now; otherwise `wakeup` is signalled once room appears.
    public func watchRoom(_ wakeup: Wakeup) -> Bool {
        state.withLock { s in
            if s.count < capacity || s.closed { return true }
            if !s.roomWatchers.contains(where: { $0 === wakeup }) { s.roomWatchers.append(wakeup) }
            return false
        }
    }

    /// Appends (or hands straight to a waiting async consumer); true when the channel now
    /// holds more than `capacity`.
    private func enqueue(_ element: Element) -> Bool {
        let (receiver, wasEmpty, over) = state.withLock { s -> (CheckedContinuation<Element?, Never>?, Bool, Bool) in
            if let r = s.receiver {
                s.receiver = nil
                return (r, false, false)
            }
            s.items.append(element)
            return (nil, s.count == 1, s.count > capacity)
        }
        if let receiver { receiver.resume(returning: element) }
        if wasEmpty { readable.signal() }
        return over
    }

    // MARK: Receiving

    /// Takes up to `max` elements without waiting (a consumer thread, after `readable` woke it).
    public func take(max: Int = .max) -> [Element] {
        let (taken, senders, watchers) = state.withLock { s -> ([Element], [CheckedContinuation<Void, Never>], [Wakeup]) in
            var taken: [Element] = []
            taken.reserveCapacity(Swift.min(max, s.count))
            while taken.count < max, let e = s.popFirst() { taken.append(e) }
            let (senders, watchers) = releaseWaiters(&s)
            return (taken, senders, watchers)
        }
        for c in senders { c.resume() }
        for w in watchers { w.signal() }
        return taken
    }

    /// Wakes senders and watchers once the count is back within bounds.
    private func releaseWaiters(_ s: inout State) -> ([CheckedContinuation<Void, Never>], [Wakeup]) {
        var senders: [CheckedContinuation<Void, Never>] = []
        var watchers: [Wakeup] = []
        if s.count <= capacity, !s.senders.isEmpty {
            senders = s.senders.map(\.continuation)
            s.senders.removeAll()
        }
        if s.count < capacity, !s.roomWatchers.isEmpty {
            watchers = s.roomWatchers
            s.roomWatchers.removeAll()
        }
        return (senders, watchers)
    }

    /// The next element, suspending while there is none; nil once closed and empty. One consumer.
    public func next() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                let (now, senders, watchers) = state.withLock { s -> (Element??, [CheckedContinuation<Void, Never>], [Wakeup]) in
                    if let e = s.popFirst() {
                        let (senders, watchers) = releaseWaiters(&s)
                        return (.some(e), senders, watchers)
                    }
                    if s.closed || Task.isCancelled { return (.some(nil), [], []) }
                    s.receiver = c
                    return (nil, [], [])
                }
                for s in senders { s.resume() }
                for w in watchers { w.signal() }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            let waiting = state.withLock { s -> CheckedContinuation<Element?, Never>? in
                defer { s.receiver = nil }
                return s.receiver
            }
            waiting?.resume(returning: nil)
        }
    }

    /// No more elements: the consumer gets nil once empty, senders stop waiting.
    public func close() {
        let (receiver, senders, watchers) = state.withLock { s -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>], [Wakeup]) in
            s.closed = true
            let r = s.count == 0 ? s.receiver : nil
            if r != nil { s.receiver = nil }
            let senders = s.senders.map(\.continuation)
            s.senders.removeAll()
            let watchers = s.roomWatchers
            s.roomWatchers.removeAll()
            return (r, senders, watchers)
        }
        receiver?.resume(returning: nil)
        for c in senders { c.resume() }
        for w in watchers { w.signal() }
        readable.signal()
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BoundedChannel
        public mutating func next() async -> Element? { await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: self) }
}
