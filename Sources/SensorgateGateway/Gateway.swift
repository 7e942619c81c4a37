// The running gateway: loads the config, opens the state directory, and runs its services
// under swift-service-lifecycle, in this order (stopped in reverse):
//
//   forwarder      thread: MQTT session + DeliveryStateMachine + buffer.db   (stops last)
//   replay         thread: its own MQTT session + ReplayStateMachine + history reads (with `history:`)
//   input brokers  a thread each: MQTT sessions with subscriptions only
//   pipeline       thread: sequence, rules, thermostats, actuators, sensorgate.db
//   devices        a task each (a thread each for blocking reads), restarted when they stop
//   http           thread: /metrics, /healthz, /status, the status page (with `http:` only)
//   signals        SIGTERM/SIGINT stop, SIGHUP reloads
//   daemon         the summary line; under systemd, READY/STATUS/WATCHDOG     (stops first)
//
// Devices → pipeline → forwarder hand over through bounded channels: a full channel suspends
// the async senders and keeps the pipeline from taking readings, so back-pressure reaches the
// devices without blocking any thread of Swift's cooperative pool.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateHTTP
import SensorgateMQTT
import SensorgateRuntime
import ServiceLifecycle

public struct Gateway: Sendable {
    private let configPath: String
    private let logger: Logger
    private let options: DaemonOptions

    /// Readings waiting for the pipeline; beyond, devices wait (their sends suspend).
    static let pipelineInbox = 1_024
    /// Events handed to the forwarder and not yet taken; beyond, the pipeline takes no readings.
    static let forwarderInbox = 5_000

    public init(configPath: String, logger: Logger, options: DaemonOptions = DaemonOptions()) {
        self.configPath = configPath
        self.logger = logger
        self.options = options
    }

    /// Runs until SIGINT or SIGTERM; returns the process exit status.
    public func run() async -> Int32 {
        // Until the signal service takes them, signals are recorded: a stop during start-up is
        // carried out once the services run, gracefully (SignalService).
        sg_signals_catch_early()
        guard let config = await loadConfig() else { return 1 }
        let logger = self.logger
        let state: StateDirectory
        do {
            state = try await OwnedThread.run(name: "startup") { Result { try StateDirectory.open(config: config, logger: logger) } }.get()
        } catch {
            logger.critical("cannot open the state directory \(config.gateway.stateDir): \(error)")
            return 1
        }
        let metrics = GatewayMetrics(startTime: WallClock.now())
        let forwarderStatus = config.mqtt.map {
            ForwarderStatus(broker: "\($0.host):\($0.port)", maxEvents: config.buffer.maxEvents, maxBytes: config.buffer.maxBytes)
        }
        var http: (listener: HTTPListener, routes: HTTPRoutes)? = nil
        if let settings = config.http {
            do {
                let listener = try HTTPListener.bind(host: settings.host, port: settings.port)
                let board = StatusBoard(gatewayID: config.gateway.id, uplink: forwarderStatus)
                http = (listener, HTTPRoutes(board: board, metrics: metrics,
                                             access: HTTPAccess(token: ConfigFile.httpToken(for: settings), uplinkDownAfter: settings.uplinkDownAfter)))
            } catch {
                logger.critical("\(error) ('http.listen' in \(configPath))")
                return 1
            }
        }
        logger.notice("sensorgate \(SensorgateVersion.current): \(config.gateway.id) running \(config.devices.count) device(s), \(config.rules.count) rule(s), \(config.thermostats.count) thermostat(s) from \(configPath); next seq \(state.sequence.peek)")

        // Each thread waits on one wake-up shared by the channels it reads.
        let (pipelineWake, forwarderWake) = (Wakeup(), Wakeup())
        let inbox = BoundedChannel<AdapterOutput>(capacity: Self.pipelineInbox, readable: pipelineWake)
        let pressure = Pressure()
        let monitor = PipelineMonitor()
        let wiring = Wiring(
            pipelineControl: BoundedChannel(capacity: 16, readable: pipelineWake),
            forwarderInbox: config.mqtt == nil ? nil : BoundedChannel(capacity: Self.forwarderInbox, readable: forwarderWake),
            commands: config.mqtt == nil ? nil : BoundedChannel(capacity: CommandQueue.limit, readable: forwarderWake),
            forwarderControl: config.mqtt == nil ? nil : BoundedChannel(capacity: 16, readable: forwarderWake),
            replayControl: config.mqtt == nil || config.history == nil ? nil : BoundedChannel(capacity: 16),
            inputBrokers: InputBrokersService(logger: logger),
            devices: DeviceSupervisor(sink: ReadingSink(inbox, pressure: pressure)),
            routes: http?.routes,
            current: Locked(config))
        let pipeline = PipelineService(config: config, state: state, inbox: inbox, control: wiring.pipelineControl,
                                       outbox: wiring.forwarderInbox, commands: wiring.commands,
                                       console: LogTarget.echoesEvents(level: logger.logLevel), logger: logger,
                                       metrics: metrics, board: http?.routes.board,
                                       summary: Locked(PipelineSummary()), monitor: monitor)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let mqtt = config.mqtt, let buffer = state.buffer, let forwarderInbox = wiring.forwarderInbox,
           let commands = wiring.commands, let control = wiring.forwarderControl, let forwarderStatus {
            let settings = ForwarderSettings(mqtt: mqtt, password: ConfigFile.password(for: mqtt), gatewayID: config.gateway.id,
                                             buffer: config.buffer, history: config.history)
            let backlog = LiveBacklog()
            services.append(.init(service: ForwarderService(settings: settings, buffer: buffer, record: state.bufferRecord,
                                                            reserve: state.reserve, inbox: forwarderInbox, commands: commands,
                                                            control: control, status: forwarderStatus, pressure: pressure,
                                                            metrics: metrics, backlog: backlog, logger: logger),
                                  serviceName: "forwarder"))
            if let history = config.history, let replayControl = wiring.replayControl {
                let replay = ReplaySettings(mqtt: mqtt, password: settings.password, gatewayID: config.gateway.id, history: history)
                services.append(.init(service: ReplayService(settings: replay, bufferPath: buffer.path, control: replayControl, backlog: backlog,
                                                                logger: logger),
                                      serviceName: "replay"))
            }
        }
        services.append(.init(service: wiring.inputBrokers, serviceName: "input brokers"))
        services.append(.init(service: pipeline, serviceName: "pipeline"))
        services.append(.init(service: wiring.devices, serviceName: "devices"))
        if let http {
            services.append(.init(service: HTTPService(listener: http.listener, routes: http.routes, logger: logger), serviceName: "http"))
        }
        let gateway = self
        services.append(.init(service: SignalService(reload: { await gateway.reload(wiring, pipeline: pipeline) }, logger: logger,
                                                     notifier: options.notifier),
                              successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "signals"))
        let health = GatewayHealth(pipeline: monitor, forwarder: forwarderStatus, config: wiring.current)
        services += options.services(health: health, logger: logger)

        wiring.devices.start(connect(config, wiring))
        var groupLogger = logger
        groupLogger.logLevel = max(logger.logLevel, .warning)
        let group = ServiceGroup(configuration: .init(services: services, logger: groupLogger))
        do {
            try await group.run()
        } catch {
            logger.error("the gateway stopped on an error: \(error)")
            return 1
        }
        let summary = pipeline.summary.value
        let failed = summary.failures.total
        logger.notice("stopped after \(summary.emitted) event(s); next seq \(summary.nextSeq)\(failed > 0 ? "; \(failed) failed read(s)" : "")")
        return 0
    }

    /// What a reload needs to reach.
    private struct Wiring: Sendable {
        let pipelineControl: BoundedChannel<PipelineControl>
        let forwarderInbox: BoundedChannel<OutboundEvent>?
        let commands: BoundedChannel<ForwarderCommand>?
        let forwarderControl: BoundedChannel<ForwarderControl>?
        let replayControl: BoundedChannel<ReplayControl>?
        let inputBrokers: InputBrokersService
        let devices: DeviceSupervisor
        /// nil without an `http` section.
        let routes: HTTPRoutes?
        let current: Locked<GatewayConfig>
    }

    /// Builds the devices' adapters and hands the MQTT input devices' topics to the sessions
    /// that serve them.
    private func connect(_ config: GatewayConfig, _ wiring: Wiring) -> [any DeviceAdapter] {
        let adapters = config.devices.compactMap { makeAdapter(for: $0) }
        var byBroker: [BrokerURL: [MQTTSession.Subscription]] = [:]
        var main: [MQTTSession.Subscription] = []
        for input in adapters.compactMap({ $0 as? MQTTInputAdapter }) {
            let subscription = MQTTSession.Subscription(filter: input.topic, deliver: input.handler)
            if let broker = input.broker { byBroker[broker, default: []].append(subscription) } else { main.append(subscription) }
        }
        main += HomeAssistantLink.subscriptions(for: config, control: wiring.pipelineControl, logger: logger)
        wiring.forwarderControl?.force(.subscriptions(main))
        wiring.inputBrokers.update(main: config.mqtt, password: config.mqtt.flatMap(ConfigFile.password(for:)), subscriptions: byBroker)
        return adapters
    }

    /// SIGHUP: a valid new config takes over (devices stop, the pipeline and the forwarder take
    /// the new settings, devices start again); one with errors is reported and the old one stays.
    private func reload(_ wiring: Wiring, pipeline: PipelineService) async {
        logger.notice("SIGHUP: reloading \(configPath)")
        guard let next = await loadConfig() else {
            logger.error("the new config has errors (above); the running config stays")
            return
        }
        let previous = wiring.current.value
        if next.gateway.stateDir != previous.gateway.stateDir {
            logger.warning("'state_dir' changed: the running gateway keeps \(previous.gateway.stateDir) until it is restarted")
        }
        if (next.mqtt == nil) != (previous.mqtt == nil) {
            logger.warning("adding or removing the 'mqtt' section takes effect at the next restart")
        }
        if (next.http == nil) != (previous.http == nil) {
            logger.warning("adding or removing the 'http' section takes effect at the next restart")
        } else if let new = next.http, let old = previous.http, new.listenText != old.listenText {
            logger.warning("'http.listen' changed: the gateway keeps serving on \(old.listenText) until it is restarted")
        }
        if let new = next.http, let routes = wiring.routes {
            // Token and health limits apply to the next request.
            routes.access.value = HTTPAccess(token: ConfigFile.httpToken(for: new), uplinkDownAfter: new.uplinkDownAfter)
        }
        if (next.history == nil) != (previous.history == nil), next.mqtt != nil {
            logger.warning("\(next.history == nil ? "removing" : "adding") 'history' changes what is kept at once; replay requests are \(next.history == nil ? "still answered (from what is left)" : "answered") from the next restart")
        }
        await wiring.devices.replace([])
        await pipeline.reconfigure(next)
        if let mqtt = next.mqtt, previous.mqtt != nil {
            wiring.forwarderControl?.force(.reconfigure(ForwarderSettings(mqtt: mqtt, password: ConfigFile.password(for: mqtt),
                                                                          gatewayID: next.gateway.id, buffer: next.buffer,
                                                                          history: next.history)))
            if let history = next.history {
                wiring.replayControl?.force(.reconfigure(ReplaySettings(mqtt: mqtt, password: ConfigFile.password(for: mqtt),
                                                                        gatewayID: next.gateway.id, history: history)))
            }
        }
        await wiring.devices.replace(connect(next, wiring))
        wiring.current.value = next
        logger.notice("reloaded: \(next.devices.count) device(s), \(next.rules.count) rule(s), \(next.thermostats.count) thermostat(s)")
    }

    /// Reads and validates the config on a thread of ours (file I/O), printing every diagnostic.
    private func loadConfig() async -> GatewayConfig? {
        let path = configPath
        guard let result = try? await OwnedThread.run(name: "config", { ConfigFile.load(path: path) }) else { return nil }
        for diagnostic in result.diagnostics {
            logger.log(level: diagnostic.severity == .error ? .error : .warning, "\(diagnostic.description)")
        }
        return result.config
    }

    /// A device whose adapter cannot be built (an invalid regex) is logged and skipped.
    private func makeAdapter(for device: DeviceConfig) -> (any DeviceAdapter)? {
        do {
            return try AdapterRegistry.makeAdapter(for: device)
        } catch {
            logger.error("device '\(device.id)': \(error)", metadata: ["device": "\(device.id)"])
            return nil
        }
    }
}
