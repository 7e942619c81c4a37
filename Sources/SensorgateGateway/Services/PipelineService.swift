// The pipeline as a service: its own thread (sequence, rules, rule state, actuators), fed by
// the devices' inbox; stopped after the devices, before the forwarder.

import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateRuntime
import ServiceLifecycle

public struct PipelineService: Service {
    let config: GatewayConfig
    let state: StateDirectory
    let inbox: BoundedChannel<AdapterOutput>
    let control: BoundedChannel<PipelineControl>
    /// The forwarder's inbox; nil without an `mqtt` section (events are only printed).
    let outbox: BoundedChannel<OutboundEvent>?
    let commands: BoundedChannel<ForwarderCommand>?
    let console: Bool
    let logger: Logger
    let metrics: GatewayMetrics
    let board: StatusBoard?
    /// Filled in when the pipeline stops.
    let summary: Locked<PipelineSummary>
    /// Its heartbeat and live counters, for the status services.
    let monitor: PipelineMonitor

    public func run() async throws {
        let (config, state, inbox, control, console, logger) = (self.config, self.state, self.inbox, self.control, self.console, self.logger)
        let (outbox, commands, monitor, metrics, board) = (self.outbox, self.commands, self.monitor, self.metrics, self.board)
        let result = try await withGracefulShutdownHandler {
            try await OwnedThread.run(name: "pipeline") { () -> PipelineSummary in
                let actuators = Actuators(commands: commands, logger: logger, openLine: GatewayHardware.openOutputLine)
                let pipeline = EventPipeline(config: config, state: state, outbox: outbox, actuators: actuators,
                                             console: console, logger: logger, metrics: metrics, board: board, commands: commands)
                pipeline.run(inbox: inbox, control: control, monitor: monitor)
                return pipeline.summary
            }
        } onGracefulShutdown: {
            control.force(.stop)
        }
        summary.value = result
    }

    /// Hands a reloaded config to the pipeline and waits until it is in force.
    func reconfigure(_ config: GatewayConfig) async {
        await withCheckedContinuation { done in control.force(.reconfigure(config, done: done)) }
    }
}
