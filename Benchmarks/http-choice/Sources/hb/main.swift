// The baseline plus a Hummingbird 2 server with the routes the gateway serves (a text body each).
import ArgumentParser
import Hummingbird
import Logging
import ServiceLifecycle

let page = String(repeating: "<p>sensorgate status page</p>\n", count: 600)  // ~18 KB, like the real page

@main
struct HB: AsyncParsableCommand {
    @Option var port: Int = 9180
    func run() async throws {
        let logger = Logger(label: "hb")
        let router = Router()
        router.get("/metrics") { _, _ in "sensorgate_events_total{type=\"TemperatureReading\"} 1\n" }
        router.get("/healthz") { _, _ in "{\"status\":\"ok\"}" }
        router.get("/status") { _, _ in "{\"version\":\"1\"}" }
        router.get("/") { _, _ in page }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
