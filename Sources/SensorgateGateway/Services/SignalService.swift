// SIGTERM and SIGINT end the gateway (this service returns, and the group shuts the others down
// gracefully, in reverse start order); SIGHUP reloads the config. Signals arrive through
// swift-service-lifecycle's UnixSignalsSequence, never in a signal handler. Under systemd a
// reload is framed by RELOADING=1 and READY=1, so `systemctl reload` shows it.
//
// From the start of `run` until the sequence listens, a signal is only noted (one atomic OR in a
// handler) and raised again once it does: ignoring them in that window lost a `systemctl stop`
// sent right after a start, which then waited for TimeoutStopSec= and a SIGKILL.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct SignalService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger
    var notifier: SystemdNotifier? = nil

    static let handled: [Int32] = [SIGHUP, SIGINT, SIGTERM]

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        // Registered: libdispatch's handler has replaced the one that noted early signals.
        Self.replayEarlySignals()
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                notifier?.reloading()
                await reload()
                notifier?.ready()
            case .sigint:
                logger.notice("SIGINT: stopping")
                return
            default:
                logger.notice("SIGTERM: stopping")
                return
            }
        }
    }

    /// Until the service listens, SIGTERM, SIGINT and SIGHUP neither end the process mid-start
    /// nor get lost: they are noted and raised again by `run`.
    static func holdEarlySignals() {
        for number in handled {
            signal(number) { number in _ = earlySignals.bitwiseOr(1 << UInt32(number), ordering: .relaxed) }
        }
    }

    /// To the process, not this thread (raise): libdispatch's worker threads block these
    /// signals, and one pending on such a thread would never reach the signal source.
    private static func replayEarlySignals() {
        let pending = earlySignals.exchange(0, ordering: .relaxed)
        for number in handled where pending & (1 << UInt32(number)) != 0 { kill(getpid(), number) }
    }
}

/// Signals that arrived before the signal service listened, one bit each (set in a handler).
private let earlySignals = Atomic<UInt32>(0)
