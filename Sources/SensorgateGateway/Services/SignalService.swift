// SIGTERM and SIGINT end the gateway (this service returns, and the group shuts the others down
// gracefully, in reverse start order); SIGHUP reloads the config. Signals arrive through
// swift-service-lifecycle's UnixSignalsSequence, never in a signal handler.

import CLinux
import Glibc
import Logging
import ServiceLifecycle
import UnixSignals

struct SignalService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger

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
            await reload()
        default:
            break
        }
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                await reload()
            case .sigint:
                logger.notice("SIGINT: stopping")
                return
            default:
                logger.notice("SIGTERM: stopping")
                return
            }
        }
    }
}
