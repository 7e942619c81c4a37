// `sensorgate replay`: history from buffer.db as JSON lines (the input `rules test` takes), or
// published again to the events' live topics with the extension `replay` (rate-limited like the
// gateway's replays, on a connection of its own). Safe beside a running gateway.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime
import SensorgateStorage

public enum ReplayCommand {
    public enum Mode: Sendable { case print, publish }

    /// What the command line says, as a request (`id` names the replay in the `replay` extension).
    public static func request(id: String, fromSeq: UInt64?, toSeq: UInt64?, since: String?, until: String?, type: String?,
                               subject: String?) -> ReplayRequest.Parsed {
        var members: [String: JSONValue] = ["id": .string(id)]
        if let fromSeq { members["from_seq"] = .number(Double(fromSeq)) }
        if let toSeq { members["to_seq"] = .number(Double(toSeq)) }
        if let since { members["since"] = .string(since) }
        if let until { members["until"] = .string(until) }
        if let type { members["type"] = .string(type) }
        if let subject { members["subject"] = .string(subject) }
        var w = JSONWriter()
        w.value(.object(members))
        return ReplayRequest.parse(w.bytes)
    }

    /// Runs on a thread of its own, events to stdout and messages to stderr; returns the exit status.
    public static func run(config: GatewayConfig, request: ReplayRequest, mode: Mode, logger: Logger) async -> Int32 {
        let status = try? await OwnedThread.run(name: "replay") { () -> Int32 in
            var out = ""
            let status = run(config: config, request: request, mode: mode, logger: logger, output: {
                out += $0
                out += "\n"
                if out.utf8.count > 1 << 16 { Console.writeOutput(out); out = "" }
            }, error: { Console.writeError($0 + "\n") })
            Console.writeOutput(out)
            return status
        }
        return status ?? 1
    }

    /// Runs to the end on the calling thread (one of ours); returns the exit status.
    public static func run(config: GatewayConfig, request: ReplayRequest, mode: Mode, logger: Logger,
                           output: @escaping (String) -> Void, error: (String) -> Void) -> Int32 {
        guard let history = config.history, let mqtt = config.mqtt else {
            error("error: 'history' is not configured: the gateway keeps no delivered events to replay")
            return 1
        }
        let path = Paths.join(config.gateway.stateDir, "buffer.db")
        guard FileSystem.mode(path) != nil else {
            error("error: \(path) does not exist yet: the gateway has not run with this state_dir")
            return 1
        }
        let reader: HistoryReader
        do { reader = try HistoryReader(path: path) } catch let e {
            error("error: cannot read the event history in \(path): \(e)")
            return 1
        }
        let base = "\(mqtt.topicPrefix)/\(config.gateway.id)"
        var report: ReplayStateMachine.Report?
        switch mode {
        case .print:
            var settings = ReplayStateMachine.Settings(base: base, target: .print, rate: nil, maxEvents: .max)
            settings.readLimit = 1_000
            let runner = ReplayRunner(machine: ReplayStateMachine(settings: settings), reader: reader,
                                      sink: .print({ output(String(decoding: $0.payload, as: UTF8.self)) }), logger: logger)
            runner.submit(request)
            while report == nil {
                _ = runner.work()
                report = runner.takeFinished().first
            }
        case .publish:
            var options = mqtt.sessionOptions(password: ConfigFile.password(for: mqtt))
            options.clientID += "-replay-\(getpid())"
            let session = MQTTSession(options: options, logger: logger)
            let settings = ReplayStateMachine.Settings(base: base, target: .liveTopics, rate: history.replayRate, maxEvents: .max)
            let runner = ReplayRunner(machine: ReplayStateMachine(settings: settings), reader: reader,
                                      sink: .session(session, qos: mqtt.qos), logger: logger)
            runner.submit(request)
            let started = MQTTSession.now()
            while report == nil {
                let (wake, _) = runner.work()
                report = runner.takeFinished().first
                if report != nil { break }
                if session.connects == 0, MQTTSession.now() - started > 30_000 {
                    error("error: could not connect to \(session.broker) within 30 s; nothing was published")
                    session.close()
                    return 1
                }
                for event in session.poll(wakeFDs: [], until: wake) { runner.handle(event) }
            }
            session.close()
        }
        guard let report else { return 1 }
        let seqs = report.firstSeq.map { " (seq \($0) to \(report.lastSeq ?? $0))" } ?? ""
        let verb = mode == .print ? "printed" : "published again"
        error("\(report.sent) event(s) \(verb)\(seqs): \(report.status.rawValue)\(report.reason.map { "; \($0)" } ?? "")")
        return report.status == .complete || report.status == .partial ? 0 : 1
    }
}
