// SIGTERM and SIGINT end the gateway (this service returns, and the group shuts the others down
// gracefully, in reverse start order); SIGHUP reloads the config. Signals arrive through
// swift-service-lifecycle's UnixSignalsSequence, never in a signal handler. Under systemd a
// reload is framed by RELOADING=1 and READY=1, so `systemctl reload` shows it.

import Logging
import ServiceLifecycle
import UnixSignals

struct SignalService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger
    var notifier: SystemdNotifier? = nil

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
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
}
