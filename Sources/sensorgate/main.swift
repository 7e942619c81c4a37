// The `sensorgate` command line: run, check, tail, rules test, buffer stats and dead-letter,
// replay, schema, asyncapi, discover.

import ArgumentParser
import Logging
import SensorgateCore
import SensorgateGateway

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning or error")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "text (one line per message) or json (one JSON object per line: time, level, message, metadata)")
    var logFormat: LogFormat = .text

    func bootstrap() {
        let (level, target) = (logLevel, LogTarget.detect(format: logFormat))
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, level: level, target: target) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

/// `--config FILE` and the global options, shared by every command that reads a config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The gateway config file (YAML).", valueName: "file"))
    var config: String = InstallLayout.current.defaultConfig

    @OptionGroup var global: GlobalOptions

    /// Sets up logging and loads the config, printing every diagnostic; exits 1 (after an error
    /// count) when it has errors.
    func load() throws -> GatewayConfig {
        global.bootstrap()
        let result = ConfigFile.load(path: config)
        for diagnostic in result.diagnostics { Console.writeError(diagnostic.description + "\n") }
        guard let loaded = result.config else {
            let n = result.diagnostics.errorCount
            Console.writeError("\(config): \(n) error\(n == 1 ? "" : "s")\n")
            throw ExitCode(1)
        }
        return loaded
    }
}

@main
struct Sensorgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensorgate",
        abstract: "An IoT telemetry gateway: sensors in, CloudEvents out, over MQTT, with rules and thermostats.",
        discussion: """
            Device adapters read sensors from sysfs, serial ports, GPIO character devices and MQTT; readings \
            become CloudEvents with a gateway-wide sequence number, go through YAML rules that raise alerts and \
            drive thermostats, and are forwarded to an MQTT broker, buffered in SQLite while it is out of reach.

            Files: without --config every command reads /etc/sensorgate/sensorgate.yaml. The state (event \
            sequence, rule state, offline buffer) goes to the config's state_dir, by default $STATE_DIRECTORY \
            under systemd, /var/lib/sensorgate for a config under /etc, else var/ beside the config. Device \
            profiles are looked up in the config's profiles_dir, then /etc/sensorgate/devices, then \
            /usr/share/sensorgate/devices.

            Signals: SIGTERM and SIGINT stop cleanly (in-flight events are published or buffered); SIGHUP \
            reloads the config, keeping the running one if the new one has errors.

            Logs go to stderr: one line per reading only at --log-level debug or on a terminal, a summary \
            line every few minutes, syslog priority prefixes when stderr is the systemd journal. Under \
            systemd (Type=notify) the gateway reports READY, STATUS, WATCHDOG, RELOADING and STOPPING.
            """,
        version: SensorgateVersion.current,
        subcommands: [Run.self, Check.self, Tail.self, Rules.self, Buffer.self, Replay.self, Schema.self, AsyncAPI.self, Discover.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway in the foreground until SIGINT or SIGTERM.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: ArgumentHelp("How often to log a summary line (events by type, failed reads, buffer, uplink); 0 for never.",
                                            valueName: "duration"))
    var summaryInterval: String = "5m"

    func validate() throws {
        guard summaryInterval == "0" || DurationText.parse(summaryInterval) != nil else {
            throw ValidationError("--summary-interval must be a duration such as 30s or 5m (or 0), got \"\(summaryInterval)\"")
        }
    }

    func run() async throws {
        options.global.bootstrap()
        let interval = summaryInterval == "0" ? .zero : DurationText.parse(summaryInterval) ?? .seconds(300)
        let gateway = Gateway(configPath: options.config, logger: Logger(label: "sensorgate"),
                              options: DaemonOptions(summaryInterval: interval))
        let status = await gateway.run()
        if status != 0 { throw ExitCode(status) }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config and every profile it names; print every problem as FILE:LINE:COLUMN.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let loaded = try options.load()
        Console.writeOutput(ConfigSummary.line(path: options.config, config: loaded) + "\n")
    }
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the gateway's events live as they reach its broker (Ctrl-C stops).",
        discussion: """
            Subscribes to {topic_prefix}/{gateway.id}/... on the config's broker, with its credentials, and prints each
            event as the gateway's console does (in colour on a terminal; NO_COLOR turns it off), or with --json the
            CloudEvent as received, one per line. The gateway need not run on this host.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Only this event type: \(EventType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String?

    @Option(name: .long, help: "Only this device (or rule, or thermostat); a glob such as 'room-*' works too.")
    var device: String?

    @Flag(name: .long, help: "Print each CloudEvent as received (JSON lines).")
    var json = false

    func validate() throws {
        if let type, EventType(rawValue: type) == nil {
            throw ValidationError("--type must be one of \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(type)\"")
        }
    }

    func run() throws {
        let loaded = try options.load()
        let tail = SensorgateGateway.Tail.Options(type: type.flatMap(EventType.init(rawValue:)), device: device, json: json,
                                                  color: !json && SensorgateGateway.Tail.colorWanted(environment: FileSystem.environment()))
        let status = SensorgateGateway.Tail.run(config: loaded, options: tail, logger: Logger(label: "sensorgate"))
        if status != 0 { throw ExitCode(status) }
    }
}

struct Buffer: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the offline buffer and its dead letters.",
                                                    subcommands: [Stats.self, DeadLetter.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the offline buffer's state as JSON: events, bytes, oldest_seq, newest_seq, dropped.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let loaded = try options.load()
            do {
                Console.writeOutput(try BufferInspection.statsJSON(config: loaded) + "\n")
            } catch {
                Console.writeError("cannot read the offline buffer: \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}

extension Buffer {
    struct DeadLetter: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letter",
            abstract: "Events the broker refused three times: list them, requeue them (same id and seq), or purge them.",
            subcommands: [List.self, Requeue.self, Purge.self])

        struct Target: ParsableArguments {
            @OptionGroup var options: ConfigOptions
            @Option(name: .long, help: "Only the dead letter with this seq.")
            var seq: UInt64?

            /// Runs `action` on the config's dead letters and says how many it `did`.
            func apply(_ did: String, _ action: (GatewayConfig, UInt64?) throws -> Int) throws {
                let loaded = try options.load()
                do {
                    let n = try action(loaded, seq)
                    Console.writeOutput("\(n) dead letter(s) \(did)\n")
                } catch {
                    Console.writeError("error: \(error)\n")
                    throw ExitCode(1)
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print each dead letter as a JSON line: seq, id, type, subject, topic, the broker's reason, when, the event.")
            @OptionGroup var target: Target

            func run() throws {
                let loaded = try target.options.load()
                do {
                    let lines = try DeadLetterTools.list(config: loaded, seq: target.seq)
                    if !lines.isEmpty { Console.writeOutput(lines.joined(separator: "\n") + "\n") }
                    if lines.isEmpty, let seq = target.seq {
                        Console.writeError("no dead letter has seq \(seq)\n")
                        throw ExitCode(1)
                    }
                } catch let exit as ExitCode {
                    throw exit
                } catch {
                    Console.writeError("error: \(error)\n")
                    throw ExitCode(1)
                }
            }
        }

        struct Requeue: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Put dead letters back into the buffer, with their id and seq, to be sent first at the gateway's next start (stop it first).")
            @OptionGroup var target: Target

            func run() throws { try target.apply("requeued", DeadLetterTools.requeue) }
        }

        struct Purge: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")
            @OptionGroup var target: Target

            func run() throws { try target.apply("purged", DeadLetterTools.purge) }
        }
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print kept events as JSON lines (input for `rules test`), or publish them again to their live topics.",
        discussion: """
            Reads the event history in the state directory (`history:` in the config), safely beside a running
            gateway. --publish sends each event again, byte for byte plus the extension "replay", at the config's
            history.replay_rate, on a connection of its own; --print (the default) writes the stored events unchanged.
            --until is exclusive; times are RFC 3339.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "The first seq.") var fromSeq: UInt64?
    @Option(name: .long, help: "The last seq (inclusive; default: the newest kept).") var toSeq: UInt64?
    @Option(name: .long, help: "Events with time at or after this (RFC 3339).") var since: String?
    @Option(name: .long, help: "Events with time before this (RFC 3339).") var until: String?
    @Option(name: .long, help: "Only this event type.") var type: String?
    @Option(name: .long, help: "Only this subject (device, rule or thermostat).") var subject: String?
    @Option(name: .long, help: "The replay's id, in the events' `replay` extension (--publish).") var id: String?
    @Flag(name: .long, help: "Write the events to stdout as JSON lines (the default).") var print = false
    @Flag(name: .long, help: "Publish the events again to their live topics.") var publish = false

    func validate() throws {
        if print, publish { throw ValidationError("give --print or --publish, not both") }
        if fromSeq == nil, since == nil { throw ValidationError("say what to replay: --from-seq N [--to-seq M] or --since TIME [--until TIME]") }
    }

    func run() async throws {
        let loaded = try options.load()
        let replayID = id ?? "cli-\(WallClock.now().millisecondsSinceEpoch)"
        let request: ReplayRequest
        switch ReplayCommand.request(id: replayID, fromSeq: fromSeq, toSeq: toSeq, since: since, until: until, type: type, subject: subject) {
        case .request(let r): request = r
        case .refused(_, let reason):
            Console.writeError("error: \(reason.replacingOccurrencesOfKeys())\n")
            throw ExitCode(1)
        }
        let mode: ReplayCommand.Mode = publish ? .publish : .print
        let logger = Logger(label: "sensorgate")
        let status = await ReplayCommand.run(config: loaded, request: request, mode: mode, logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}

extension String {
    /// A request's refusal in the command line's words: `from_seq` is `--from-seq`.
    func replacingOccurrencesOfKeys() -> String {
        var text = self
        for key in ["from_seq", "to_seq", "since", "until", "type", "subject", "id"] {
            text = text.split(separator: "'\(key)'", omittingEmptySubsequences: false).joined(separator: "'--\(key.split(separator: "_").joined(separator: "-"))'")
        }
        return text
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema (draft 2020-12) of an event type, or list every schema with its URI.",
        discussion: "Each event carries its schema's URI as `dataschema`. The same files are in the repository under schemas/.")

    @Argument(help: "An event type (TemperatureReading, ...) or ReplayRequest / ReplayDone.") var type: String?
    @Option(name: .long, help: "A published older version (default: the current one).") var version: Int?
    @Option(name: .long, help: .hidden) var writeTo: String?

    func run() throws {
        if let writeTo {  // `make schemas`: the repository's copies
            for path in try ContractCommands.write(to: writeTo) { Console.writeOutput(path + "\n") }
            return
        }
        guard let type else {
            Console.writeOutput(ContractCommands.list())
            return
        }
        switch ContractCommands.schema(type, version: version) {
        case .success(let text): Console.writeOutput(text)
        case .failure(let error):
            Console.writeError("error: \(error)\n")
            throw ExitCode(1)
        }
    }
}

struct AsyncAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asyncapi",
        abstract: "Print the AsyncAPI 3.0 document (JSON) of what this gateway publishes and subscribes to with this config.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let loaded = try options.load()
        Console.writeOutput(ContractCommands.asyncAPI(loaded))
    }
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Try rules and thermostats on recorded events.", subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay recorded events (JSON lines) through the rules and thermostats; print what they emit as JSON lines.",
            discussion: """
                The events' own times are the clock, and timers fire between events at their exact instants,
                so hours of recordings replay in milliseconds. Time windows use the host's time zone (set TZ
                to choose another). Lines are CloudEvents as the gateway publishes them, or the short form
                {"time": "2026-11-26T18:00:00Z", "type": "TemperatureReading", "subject": "cpu", "data": {"celsius": 71.5}}.
                """)

        @OptionGroup var options: ConfigOptions

        @Option(name: .long, help: "The recorded events, one JSON object per line.")
        var events: String

        @Option(name: .long, help: "Keep the clock running after the last event up to this RFC 3339 time.")
        var until: String?

        func run() throws {
            let loaded = try options.load()
            guard let text = FileSystem.readText(events) else {
                Console.writeError("\(events): error: cannot read the events file\n")
                throw ExitCode(1)
            }
            var end: Timestamp? = nil
            if let until {
                guard let t = Timestamp(rfc3339: until) else {
                    Console.writeError("error: --until must be an RFC 3339 time such as 2026-11-27T00:00:00Z, got \"\(until)\"\n")
                    throw ExitCode(1)
                }
                end = t
            }
            var out = ""
            let summary = RulesTest.run(config: loaded, eventsPath: events, events: text, until: end,
                                        output: { out += $0; out += "\n"; if out.utf8.count > 1 << 16 { Console.writeOutput(out); out = "" } },
                                        error: { Console.writeError($0 + "\n") })
            Console.writeOutput(out)
            Console.writeError("\(summary.events) event(s) replayed, \(summary.emitted) emitted\(summary.skipped > 0 ? ", \(summary.skipped) line(s) skipped" : "")\n")
            if summary.skipped > 0 { throw ExitCode(1) }
        }
    }
}

struct Discover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find thermal zones, hwmon, 1-Wire and IIO thermometers, GPIO chips and serial ports; print a devices: block.")

    @Option(name: .long, help: "The directory that stands for /sys (a copy or fixture tree).")
    var sysfsRoot: String = "/sys"

    func run() throws {
        let root = sysfsRoot.count > 1 && sysfsRoot.hasSuffix("/") ? String(sysfsRoot.dropLast()) : sysfsRoot
        guard FileSystem.isDirectory(root) else {
            Console.writeError("error: \(root) is not a directory\n")
            throw ExitCode(1)
        }
        Console.writeOutput(Discovery.render(Discovery.scan(sys: root)))
    }
}
