// The bridge for adapters whose I/O blocks (a serial port, a GPIO line fd): the read loop runs
// on the device's own dispatch queue, its outputs reach the async side through a bounded
// stream, and cancelling the task sets a flag the loop checks between short waits.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Dispatch

enum BlockingReader {
    /// Runs `loop` on a queue of its own until it returns or the calling task is cancelled;
    /// hands each output to `emit` in order. At most 1,024 outputs wait; beyond, the oldest go.
    static func run(label: String, emit: @escaping @Sendable (AdapterOutput) async -> Void,
                    loop: @escaping @Sendable (StopFlag, (AdapterOutput) -> Void) -> Void) async {
        let (stream, continuation) = AsyncStream<AdapterOutput>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let stop = StopFlag()
        DispatchQueue(label: label).async {
            loop(stop) { continuation.yield($0) }
            continuation.finish()
        }
        await withTaskCancellationHandler {
            for await output in stream { await emit(output) }
        } onCancel: {
            stop.set()
        }
    }
}

/// Set once from any thread; read by a blocking loop between its short waits.
final class StopFlag: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var value = false

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    var isSet: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return value
    }

    func set() {
        pthread_mutex_lock(&mutex)
        value = true
        pthread_mutex_unlock(&mutex)
    }

    /// Sleeps up to `milliseconds`, returning early once set.
    func sleep(milliseconds: Int) {
        var left = milliseconds
        while left > 0, !isSet {
            usleep(UInt32(min(left, 100)) * 1000)
            left -= 100
        }
    }
}
