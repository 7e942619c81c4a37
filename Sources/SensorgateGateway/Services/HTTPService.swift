// The HTTP server as a service: /metrics, /healthz, /status and the status page (HTTPRoutes)
// on a thread of its own (SensorgateHTTP's poll loop). The socket is bound before the group
// starts, so a taken port stops `run` at once. Started after the devices and stopped before
// them: a stopping gateway stops answering first, then stops reading, then drains.

import Logging
import SensorgateHTTP
import SensorgateRuntime
import ServiceLifecycle

public struct HTTPService: Service {
    let listener: HTTPListener
    let routes: HTTPRoutes
    let logger: Logger

    public func run() async throws {
        let (listener, routes) = (self.listener, self.routes)
        let stop = StopSignal()
        logger.notice("serving /metrics, /healthz, /status and the status page on http://\(listener.address)/")
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await OwnedThread.run(name: "http") {
                    HTTPServer(listener: listener, stop: stop, handler: { routes.handle($0) }, tick: { routes.tick() },
                               observe: { routes.observe($0) }).run()
                }
            } onGracefulShutdown: {
                stop.set()
            }
        } onCancel: {
            stop.set()
        }
    }
}
