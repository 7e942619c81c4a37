// Runs every device and keeps it running: an adapter whose `run` returns or throws (a GPIO chip
// missing at start, a line another program holds) is counted as `adapterStopped` and restarted
// with the gateway's jittered backoff, the way a missing sysfs file or serial port recovers by
// itself. A reload replaces the whole set; stopping cancels them all (devices stop first).

import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateRuntime
import ServiceLifecycle

public struct DeviceSupervisor: Service {
    private enum Request: Sendable {
        case replace([any DeviceAdapter], done: CheckedContinuation<Void, Never>?)
    }

    let sink: ReadingSink
    private let requests = BoundedChannel<Request>(capacity: 16)
    /// A run that lasted this long worked: the next restart starts from the shortest delay.
    static let stableAfter: Duration = .seconds(60)

    init(sink: ReadingSink) { self.sink = sink }

    /// Runs `adapters` instead of the current devices; returns once the old ones have stopped
    /// and the new ones are started.
    func replace(_ adapters: [any DeviceAdapter]) async {
        await withCheckedContinuation { done in requests.force(.replace(adapters, done: done)) }
    }

    /// The first set, before the service runs.
    func start(_ adapters: [any DeviceAdapter]) { requests.force(.replace(adapters, done: nil)) }

    public func run() async {
        var current: Task<Void, Never>? = nil
        for await request in requests.cancelOnGracefulShutdown() {
            switch request {
            case .replace(let adapters, let done):
                current?.cancel()
                await current?.value
                let sink = self.sink
                current = Task {
                    await withDiscardingTaskGroup { group in
                        for adapter in adapters { group.addTask { await Self.supervise(adapter, sink: sink) } }
                    }
                }
                done?.resume()
            }
        }
        current?.cancel()
        await current?.value
    }

    static func supervise(_ adapter: any DeviceAdapter, sink: ReadingSink) async {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))
        var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let why: String
            do {
                try await adapter.run(into: sink)
                why = "the adapter stopped"
            } catch is CancellationError {
                return
            } catch {
                why = "\(error)"
            }
            if Task.isCancelled { return }
            if ContinuousClock.now - started >= stableAfter { backoff.reset() }
            let delay = backoff.next(using: &random)
            await sink.send(.failure(deviceID: adapter.deviceID, reason: .adapterStopped,
                                     detail: "\(why); restarting in \(DurationText.format(delay))"))
            try? await Task.sleep(for: delay)
        }
    }
}
