// The baseline: command line, logging and a service group that idles until SIGTERM.
import ArgumentParser
import Logging
import ServiceLifecycle

struct Idle: Service {
    func run() async throws { try await gracefulShutdown() }
}

@main
struct Base: AsyncParsableCommand {
    @Option var port: Int = 9180
    func run() async throws {
        let logger = Logger(label: "base")
        let group = ServiceGroup(services: [Idle()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
