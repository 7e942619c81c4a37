// The running gateway: loads the config, starts one task per device, feeds their output through
// the EventPipeline, reloads on SIGHUP and stops cleanly on SIGINT/SIGTERM.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SensorgateAdapters
import SensorgateCore
import SensorgateRuntime

public struct Gateway {
    private let configPath: String
    private let logger: Logger

    public init(configPath: String, logger: Logger) {
        self.configPath = configPath
        self.logger = logger
    }

    /// Runs until SIGINT or SIGTERM; returns the process exit status.
    public func run() async -> Int32 {
        let signals = SignalWatcher([SIGINT, SIGTERM, SIGHUP])
        guard var config = loadConfig() else { return 1 }
        let pipeline: EventPipeline
        var forwarder: MQTTForwarder? = nil
        do {
            try FileSystem.createDirectories(config.gateway.stateDir)
            if let mqtt = config.mqtt {
                forwarder = try MQTTForwarder(settings: .init(
                    mqtt: mqtt, password: ConfigFile.password(for: mqtt), gatewayID: config.gateway.id,
                    buffer: config.buffer, bufferPath: Paths.join(config.gateway.stateDir, "buffer.db")), logger: logger)
            }
            // One console line per event at `info` and below; `--log-level notice` keeps a busy gateway quiet.
            let console: [any EventSink] = logger.logLevel <= .info ? [ConsoleEventSink()] : []
            let sinks: [any EventSink] = console + (forwarder.map { [$0] } ?? [])
            let actuators = Actuators(forwarder: forwarder, logger: logger, openLine: GatewayHardware.openOutputLine)
            pipeline = try EventPipeline(config: config, sinks: sinks, effects: actuators, resumeSeq: try forwarder?.resumeSeq(),
                                         logger: logger)
        } catch {
            logger.critical("cannot open the state directory \(config.gateway.stateDir): \(error)")
            return 1
        }
        let firstSeq = await pipeline.nextSeq
        logger.notice("sensorgate \(config.gateway.id) running \(config.devices.count) device(s), \(config.rules.count) rule(s), \(config.thermostats.count) thermostat(s) from \(configPath); next seq \(firstSeq)")

        let inputBrokers = InputBrokers(main: config.mqtt, password: config.mqtt.flatMap(ConfigFile.password(for:)),
                                        gatewayID: config.gateway.id, logger: logger)
        forwarder?.start()
        await pipeline.startRules()
        let ticker = Task {
            while !Task.isCancelled {
                let wait = await pipeline.tickRules()
                try? await Task.sleep(for: wait)
            }
        }
        var devices = startDevices(config, pipeline: pipeline, forwarder: forwarder, inputBrokers: inputBrokers)
        for await number in signals.signals {
            if number == SIGHUP {
                logger.notice("SIGHUP: reloading \(configPath)")
                guard let next = loadConfig() else {
                    logger.error("the new config has errors (above); the running config stays")
                    continue
                }
                devices.cancel()
                await devices.value
                config = next
                await pipeline.reconfigure(config)
                devices = startDevices(config, pipeline: pipeline, forwarder: forwarder, inputBrokers: inputBrokers)
                logger.notice("reloaded: \(config.devices.count) device(s), \(config.rules.count) rule(s), \(config.thermostats.count) thermostat(s)")
                continue
            }
            logger.notice("\(SignalWatcher.name(number)): stopping")
            break
        }
        devices.cancel()
        await devices.value
        ticker.cancel()
        await ticker.value
        await pipeline.stopRules()
        inputBrokers.stopAll()
        forwarder?.stop()
        await pipeline.close()
        let (failed, emitted, nextSeq) = (await pipeline.failures.total, await pipeline.emitted, await pipeline.nextSeq)
        logger.notice("stopped after \(emitted) event(s); next seq \(nextSeq)\(failed > 0 ? "; \(failed) failed read(s)" : "")")
        return 0
    }

    private func loadConfig() -> GatewayConfig? {
        let result = ConfigFile.load(path: configPath)
        for diagnostic in result.diagnostics {
            Console.writeError(diagnostic.description + "\n")
        }
        return result.config
    }

    /// One task per device, all children of the returned task.
    private func startDevices(_ config: GatewayConfig, pipeline: EventPipeline, forwarder: MQTTForwarder?,
                              inputBrokers: InputBrokers) -> Task<Void, Never> {
        let adapters = config.devices.compactMap { makeAdapter(for: $0) }
        let inputs = adapters.compactMap { $0 as? MQTTInputAdapter }
        forwarder?.setSubscriptions(inputs.filter { $0.broker == nil }.map { ($0.topic, $0.handler) })
        inputBrokers.subscribe(inputs.filter { $0.broker != nil })
        let logger = self.logger
        let inbox = BoundedChannel<AdapterOutput>(capacity: 1024)
        let pressure = Pressure()
        return Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await output in inbox {
                        await pipeline.accept(output)
                        pressure.set(forwarder?.isDraining == true)
                    }
                }
                for adapter in adapters {
                    group.addTask {
                        do {
                            try await adapter.run(into: ReadingSink(inbox, pressure: pressure))
                        } catch is CancellationError {
                        } catch {
                            logger.error("device '\(adapter.deviceID)' stopped: \(error)")
                        }
                    }
                }
                await withTaskCancellationHandler {
                    for _ in adapters { await group.next() }
                } onCancel: { inbox.close() }
                await group.next()
            }
        }
    }

    /// A device whose adapter cannot be built (an invalid regex) is logged and skipped.
    private func makeAdapter(for device: DeviceConfig) -> (any DeviceAdapter)? {
        do {
            return try AdapterRegistry.makeAdapter(for: device)
        } catch {
            logger.error("device '\(device.id)': \(error)")
            return nil
        }
    }
}
