// The forwarder as a service: its own thread (MQTT session, delivery state machine, offline
// buffer). Started first and stopped last, so everything the pipeline emitted while stopping
// is still published or saved.

import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateRuntime
import SensorgateStorage
import ServiceLifecycle

public struct ForwarderService: Service {
    let settings: ForwarderSettings
    let buffer: OfflineBuffer
    let record: BufferRecord?
    let reserve: DiskReserve
    let inbox: BoundedChannel<OutboundEvent>
    let commands: BoundedChannel<ForwarderCommand>
    let control: BoundedChannel<ForwarderControl>
    let status: ForwarderStatus
    let pressure: Pressure
    let metrics: GatewayMetrics
    var backlog: LiveBacklog? = nil
    let logger: Logger

    public func run() async throws {
        let (settings, buffer, record, reserve, inbox, commands, control, status, pressure, metrics, backlog, logger) =
            (self.settings, self.buffer, self.record, self.reserve, self.inbox, self.commands, self.control, self.status,
             self.pressure, self.metrics, self.backlog, self.logger)
        try await withGracefulShutdownHandler {
            try await OwnedThread.run(name: "forwarder") {
                MQTTForwarder(settings: settings, buffer: buffer, record: record, reserve: reserve, inbox: inbox, commands: commands,
                              control: control, status: status, pressure: pressure, metrics: metrics, backlog: backlog, logger: logger).run()
            }
        } onGracefulShutdown: {
            control.force(.stop)
        }
    }
}
