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
    // The hot paths are @inlinable so callers in other modules get them specialized for their
    // element type; unspecialized generic code would look up type metadata on every send.
    public let capacity: Int
    /// Signalled when the channel goes from empty to not empty (and when it closes). Several
    /// channels read by one thread may share one, so the thread waits on a single fd.
    public let readable: Wakeup
    @usableFromInline let state: Mutex<State>

    @usableFromInline struct State: ~Copyable {
        @usableFromInline var items: [Element] = []
        @usableFromInline var head = 0
        @usableFromInline var count: Int { items.count - head }

        @usableFromInline init() {}
        @usableFromInline var closed = false
        @usableFromInline var receiver: CheckedContinuation<Element?, Never>? = nil
        @usableFromInline var senders: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        @usableFromInline var cancelled: Set<UInt64> = []
        @usableFromInline var nextID: UInt64 = 0
        /// Wake-ups of threads waiting for room (blocked senders, a producer loop).
        @usableFromInline var roomWatchers: [Wakeup] = []

        @inlinable mutating func popFirst() -> Element? {
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

    public init(capacity: Int, readable: Wakeup = Wakeup()) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.readable = readable
        state = Mutex(State())
    }

    @inlinable public var count: Int { state.withLock { $0.count } }
    @inlinable public var isEmpty: Bool { state.withLock { $0.count == 0 } }
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
    @inlinable public func trySend(_ element: Element) -> Bool {
        let fits = state.withLock { $0.count < capacity && !$0.closed }
        guard fits else { return false }
        _ = enqueue(element)
        return true
    }

    /// Appends `element` even beyond `capacity` (rare outputs that must neither wait nor be
    /// lost: thermostat commands, control messages).
    @inlinable public func force(_ element: Element) { _ = enqueue(element) }

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
    @inlinable public func watchRoom(_ wakeup: Wakeup) -> Bool {
        state.withLock { s in
            if s.count < capacity || s.closed { return true }
            if !s.roomWatchers.contains(where: { $0 === wakeup }) { s.roomWatchers.append(wakeup) }
            return false
        }
    }

    /// Appends (or hands straight to a waiting async consumer); true when the channel now
    /// holds more than `capacity`.
    @inlinable func enqueue(_ element: Element) -> Bool {
        // The lock returns only non-generic values: a generic tuple would look up its type
        // metadata at run time on every call (this is the hottest path of the gateway).
        var receiver: CheckedContinuation<Element?, Never>? = nil
        let count = state.withLock { s -> Int in
            if let r = s.receiver {
                s.receiver = nil
                receiver = r
                return 0
            }
            s.items.append(element)
            return s.count
        }
        if let receiver { receiver.resume(returning: element) }
        if count == 1 { readable.signal() }
        return count > capacity
    }

    // MARK: Receiving

    /// Takes up to `max` elements without waiting (a consumer thread, after `readable` woke it).
    @inlinable public func take(max: Int = .max) -> [Element] {
        var taken: [Element] = []
        var senders: [CheckedContinuation<Void, Never>] = []
        var watchers: [Wakeup] = []
        let any = state.withLock { s -> Bool in
            guard s.count > 0 else { return false }
            if max >= s.count, s.head == 0 {
                swap(&taken, &s.items)  // the common case: everything, without copying
            } else {
                taken.reserveCapacity(Swift.min(max, s.count))
                while taken.count < max, let e = s.popFirst() { taken.append(e) }
            }
            if s.head == s.items.count { s.items.removeAll(keepingCapacity: true); s.head = 0 }
            releaseWaiters(&s, senders: &senders, watchers: &watchers)
            return true
        }
        guard any else { return [] }
        for c in senders { c.resume() }
        for w in watchers { w.signal() }
        return taken
    }

    /// Hands out the senders and watchers to wake once the count is back within bounds.
    @inlinable func releaseWaiters(_ s: inout State, senders: inout [CheckedContinuation<Void, Never>], watchers: inout [Wakeup]) {
        if s.count <= capacity, !s.senders.isEmpty {
            senders = s.senders.map(\.continuation)
            s.senders.removeAll()
        }
        if s.count < capacity, !s.roomWatchers.isEmpty {
            watchers = s.roomWatchers
            s.roomWatchers.removeAll()
        }
    }

    /// The next element, suspending while there is none; nil once closed and empty. One consumer.
    public func next() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                var now: Element?? = nil
                var senders: [CheckedContinuation<Void, Never>] = []
                var watchers: [Wakeup] = []
                state.withLock { s in
                    if let e = s.popFirst() {
                        now = .some(e)
                        releaseWaiters(&s, senders: &senders, watchers: &watchers)
                    } else if s.closed || Task.isCancelled {
                        now = .some(nil)
                    } else {
                        s.receiver = c
                    }
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
        var receiver: CheckedContinuation<Element?, Never>? = nil
        var senders: [CheckedContinuation<Void, Never>] = []
        var watchers: [Wakeup] = []
        state.withLock { s in
            s.closed = true
            if s.count == 0 {
                receiver = s.receiver
                s.receiver = nil
            }
            senders = s.senders.map(\.continuation)
            s.senders.removeAll()
            watchers = s.roomWatchers
            s.roomWatchers.removeAll()
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
