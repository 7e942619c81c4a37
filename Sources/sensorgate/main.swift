// The `sensorgate` command line: run, check (and, as they land, rules test, buffer stats, discover).

import ArgumentParser
import Logging
import SensorgateCore
import SensorgateGateway

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning or error")
    var logLevel: Logger.Level = .info

    func bootstrap() {
        let level = logLevel
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, level: level) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--config FILE` and the global options, shared by every command that reads a config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The gateway config file (YAML).")
    var config: String

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
        subcommands: [Run.self, Check.self, Buffer.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway in the foreground until SIGINT or SIGTERM.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        options.global.bootstrap()
        let status = await Gateway(configPath: options.config, logger: Logger(label: "sensorgate")).run()
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

struct Buffer: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the offline buffer.", subcommands: [Stats.self])

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
