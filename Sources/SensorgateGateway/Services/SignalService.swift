// SIGTERM and SIGINT end the gateway (this service returns, and the group shuts the others down
// gracefully, in reverse start order); SIGHUP reloads the config. Signals arrive through
// swift-service-lifecycle's UnixSignalsSequence, never in a signal handler. Under systemd a
// reload is framed by RELOADING=1 and READY=1, so `systemctl reload` shows it.
//
// From the start of `run` until the sequence listens, a signal is only recorded (a C handler
// storing one sig_atomic_t, CLinux's sg_signals_catch_early) and acted on once it listens:
// ignoring them in that window lost a `systemctl stop` sent right after a start, which then
// waited for TimeoutStopSec= and a SIGKILL.

import CLinux
import Glibc
import Logging
import ServiceLifecycle
import UnixSignals

struct SignalService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger
    var notifier: SystemdNotifier? = nil

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        // One that came while the gateway was starting (sg_signals_catch_early recorded it).
        switch sg_signals_caught_early() {
        case SIGTERM:
            logger.notice("SIGTERM (during start-up): stopping")
            return
        case SIGINT:
            logger.notice("SIGINT (during start-up): stopping")
            return
        case SIGHUP:
            await reloadFramed()
        default:
            break
        }
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                await reloadFramed()
            case .sigint:
                logger.notice("SIGINT: stopping")
                return
            default:
                logger.notice("SIGTERM: stopping")
                return
            }
        }
    }

    private func reloadFramed() async {
        notifier?.reloading()
        await reload()
        notifier?.ready()
    }
}
