// SIGINT, SIGTERM and SIGHUP as an async stream, so the run loop handles them like any other
// event instead of in a signal handler.

import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class SignalWatcher: @unchecked Sendable {
    // The sources are only touched in init and deinit.
    private var sources: [any DispatchSourceSignal] = []
    public let signals: AsyncStream<Int32>

    public init(_ numbers: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        for number in numbers {
            signal(number, SIG_IGN)  // the dispatch source gets them instead of the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    public static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(number)"
        }
    }
}
