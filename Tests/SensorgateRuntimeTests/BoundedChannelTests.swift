import Testing
import Synchronization
@testable import SensorgateRuntime

/// The hand-off every part of the gateway uses: order, bounds, back-pressure that suspends
/// (async) or waits on a wake-up (our threads), and what happens on cancel and close.
@Suite struct BoundedChannelTests {
    /// A value shared with a sender task or thread.
    final class Shared: Sendable {
        private let atomic: Atomic<Int>
        init(_ value: Int) { atomic = Atomic(value) }
        var value: Int { atomic.load(ordering: .acquiring) }
        func set(_ v: Int) { atomic.store(v, ordering: .releasing) }
    }

    @Test func keepsSendOrderAcrossTakes() async {
        let channel = BoundedChannel<Int>(capacity: 100)
        for i in 0..<50 { await channel.send(i) }
        #expect(channel.take(max: 20) == Array(0..<20))
        #expect(channel.take() == Array(20..<50))
        #expect(channel.take().isEmpty)
    }

    @Test func sendSuspendsWhileFullAndResumesWhenTheConsumerTakes() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        await channel.send(1)
        await channel.send(2)
        let sent = Shared(0)
        let sender = Task {
            await channel.send(3)  // over capacity: appended, then waits for room
            sent.set(1)
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(sent.value == 0)
        #expect(channel.count == 3)
        #expect(channel.take(max: 1) == [1])
        await sender.value
        #expect(sent.value == 1)
        #expect(channel.take() == [2, 3])
    }

    @Test func trySendRefusesWhenFull() {
        let channel = BoundedChannel<Int>(capacity: 2)
        #expect(channel.trySend(1))
        #expect(channel.trySend(2))
        #expect(!channel.trySend(3))
        channel.force(4)  // a control message is never refused
        #expect(channel.take() == [1, 2, 4])
    }

    @Test func aCancelledSenderStopsWaitingAndItsElementStays() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        await channel.send(1)
        let sender = Task { await channel.send(2) }
        try await Task.sleep(for: .milliseconds(50))
        sender.cancel()
        await sender.value
        #expect(channel.take() == [1, 2])
    }

    @Test func aThreadWaitsForRoomAndIsReleasedByTake() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        channel.force(0)
        let stop = StopSignal()
        let done = Shared(0)
        try OwnedThread.start(name: "test-sender") {
            channel.sendBlocking(1, stop: stop)
            done.set(1)
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(done.value == 0)
        #expect(channel.take() == [0, 1])
        for _ in 0..<200 where done.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(done.value == 1)
    }

    @Test func aWaitingThreadStopsWhenItsStopSignalIsSet() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        channel.force(0)
        let stop = StopSignal()
        let result = Shared(-1)
        try OwnedThread.start(name: "test-stopped") {
            result.set(channel.sendBlocking(1, stop: stop) ? 1 : 0)
        }
        try await Task.sleep(for: .milliseconds(50))
        stop.set()
        for _ in 0..<200 where result.value < 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(result.value == 0)
    }

    @Test func anAsyncConsumerGetsEverythingThenNilAfterClose() async {
        let channel = BoundedChannel<Int>(capacity: 4)
        let consumer = Task {
            var got: [Int] = []
            for await i in channel { got.append(i) }
            return got
        }
        for i in 0..<20 { await channel.send(i) }
        channel.close()
        #expect(await consumer.value == Array(0..<20))
    }

    @Test func readableWakesAThreadConsumerOnlyWhenItemsArrive() {
        let channel = BoundedChannel<Int>(capacity: 4)
        #expect(!channel.readable.wait(timeout: .milliseconds(10)))
        channel.force(1)
        #expect(channel.readable.wait(timeout: .milliseconds(10)))
        channel.force(2)  // not empty before: no second signal needed, the consumer takes both
        #expect(channel.take() == [1, 2])
        #expect(!channel.readable.wait(timeout: .milliseconds(10)))
    }

    @Test func watchRoomSignalsOnceThereIsRoom() {
        let channel = BoundedChannel<Int>(capacity: 1)
        let wakeup = Wakeup()
        #expect(channel.watchRoom(wakeup))
        channel.force(1)
        #expect(!channel.watchRoom(wakeup))
        _ = channel.take()
        #expect(wakeup.wait(timeout: .milliseconds(100)))
    }

    @Test func ownedThreadRunReturnsItsResultWithoutBlockingTheCaller() async throws {
        let value = try await OwnedThread.run(name: "test-run") { 6 * 7 }
        #expect(value == 42)
    }

    @Test func stopSignalEndsASleepAtOnce() async throws {
        let stop = StopSignal()
        let base = ContinuousClock.now
        let woke = Shared(-1)  // when the thread woke, in ms after `base`
        try OwnedThread.start(name: "test-sleep") {
            _ = stop.sleep(for: .seconds(30))
            woke.set(Int((ContinuousClock.now - base).milliseconds))
        }
        try await Task.sleep(for: .milliseconds(20))
        let setAt = Int((ContinuousClock.now - base).milliseconds)
        stop.set()
        while woke.value < 0, ContinuousClock.now - base < .seconds(60) { try await Task.sleep(for: .milliseconds(5)) }
        // Measured from the set, not from the start: a loaded machine may delay this task, not the wake.
        #expect(woke.value >= 0 && woke.value - setAt < 10_000, "woke \(woke.value - setAt) ms after the stop of a 30 s sleep")
        #expect(!stop.sleep(for: .seconds(30)))  // once set, a sleep returns at once
    }
}
