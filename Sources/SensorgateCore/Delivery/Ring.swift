// A FIFO queue with O(1) append and removal at the front (an array and a head index, compacted
// as the head advances), for the delivery state machine's queues.

struct Ring<Element>: Sendable where Element: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    var first: Element? { isEmpty ? nil : storage[head] }
    var last: Element? { isEmpty ? nil : storage[storage.count - 1] }

    mutating func append(_ element: Element) { storage.append(element) }
    mutating func append<S: Sequence>(contentsOf elements: S) where S.Element == Element { storage.append(contentsOf: elements) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Every element, oldest first, and an empty ring.
    mutating func removeAll() -> [Element] {
        defer { storage.removeAll(keepingCapacity: true); head = 0 }
        return Array(storage[head...])
    }

    mutating func removeAll(where predicate: (Element) -> Bool) {
        storage = Array(storage[head...].filter { !predicate($0) })
        head = 0
    }

    var elements: ArraySlice<Element> { storage[head...] }
}
