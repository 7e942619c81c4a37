// What running as a daemon adds to the gateway's services: the periodic summary line and, under
// systemd (`NOTIFY_SOCKET`), the readiness, status and watchdog notifications. Kept apart from
// Gateway.swift, which only appends these to its list.

import Logging
import SensorgateCore
import SensorgateRuntime
import ServiceLifecycle

public struct DaemonOptions: Sendable {
    /// How often the summary line is logged; zero: never.
    public var summaryInterval: Duration
    /// The environment systemd talks through (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID).
    public var environment: [String: String]

    public init(summaryInterval: Duration = .seconds(300), environment: [String: String] = FileSystem.environment()) {
        self.summaryInterval = summaryInterval
        self.environment = environment
    }

    var notifier: SystemdNotifier? { SystemdNotifier(environment: environment) }

    /// The services to append after the signal service (so they are the first to stop).
    func services(health: GatewayHealth, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if summaryInterval > .zero {
            services.append(.init(service: SummaryLogService(health: health, interval: summaryInterval, logger: logger),
                                  serviceName: "summary"))
        }
        if let notifier {
            let watchdog = SystemdNotifier.watchdogInterval(environment: environment)
            services.append(.init(service: SystemdNotifyService(notifier: notifier, health: health, watchdog: watchdog, logger: logger),
                                  serviceName: "systemd notify"))
        }
        return services
    }
}
