// `sensorgate tail`: the gateway's events as they reach its broker, printed the way the
// gateway's own console prints them (colour on a terminal), or as raw CloudEvents with --json.
// It subscribes on the config's broker with the config's credentials, under a client id of its
// own; the gateway need not run on this host. Ctrl-C ends it (exit 0); a broker it cannot
// reach at the start is an error (exit 1) with the reason.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import Logging
import SensorgateCore
import SensorgateMQTT

public enum Tail {
    public struct Options: Sendable {
        public var type: EventType?
        /// A device id, or a glob over ids (`room-*`).
        public var device: String?
        public var json = false
        public var color = false

        public init(type: EventType? = nil, device: String? = nil, json: Bool = false, color: Bool = false) {
            self.type = type
            self.device = device
            self.json = json
            self.color = color
        }
    }

    /// Colour when stdout is a terminal and NO_COLOR is not set (no-color.org).
    public static func colorWanted(environment: [String: String]) -> Bool {
        isatty(1) == 1 && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    /// The topic filter for `options`: one type and one device narrow it on the broker; a glob
    /// is matched here.
    public static func filter(prefix: String, gatewayID: String, options: Options) -> String {
        let type = options.type?.rawValue ?? "+"
        let device = options.device.map { DeviceSelector(pattern: $0).isGlob ? "+" : $0 } ?? "+"
        if options.type == nil, options.device == nil { return "\(prefix)/\(gatewayID)/#" }
        return "\(prefix)/\(gatewayID)/\(type)/\(device)"
    }

    /// Runs until Ctrl-C or SIGTERM; returns the exit status.
    public static func run(config: GatewayConfig, options: Options, logger: Logger) -> Int32 {
        guard let mqtt = config.mqtt else {
            Console.writeError("error: the config has no 'mqtt' section: there is no broker to tail\n")
            return 1
        }
        let stop = sg_stop_pipe()
        guard stop >= 0 else {
            Console.writeError("error: cannot catch Ctrl-C: \(String(cString: strerror(-stop)))\n")
            return 1
        }
        var sessionOptions = mqtt.sessionOptions(password: ConfigFile.password(for: mqtt))
        sessionOptions.clientID = "sensorgate-tail-\(config.gateway.id)-\(getpid())"
        sessionOptions.will = nil
        // The session's own lines would repeat what this command says itself.
        var quiet = logger
        quiet.logLevel = .critical
        let session = MQTTSession(options: sessionOptions, logger: quiet)
        let status = "\(mqtt.topicPrefix)/\(config.gateway.id)/status"
        let filter = filter(prefix: mqtt.topicPrefix, gatewayID: config.gateway.id, options: options)
        let printer = Printer(options: options, statusTopic: status)
        var subscriptions = [MQTTSession.Subscription(filter: filter, deliver: { printer.print(topic: $0, payload: $1) })]
        if !options.json, filter != "\(mqtt.topicPrefix)/\(config.gateway.id)/#" {
            subscriptions.append(.init(filter: status, deliver: { printer.print(topic: $0, payload: $1) }))
        }
        session.setSubscriptions(subscriptions)
        var connected = false
        while true {
            for event in session.poll(wakeFDs: [stop], until: nil) {
                switch event {
                case .connected:
                    if !connected { Console.writeError("tail: \(filter) on \(session.broker) (Ctrl-C stops)\n") }
                    else { Console.writeError("tail: connected to \(session.broker) again\n") }
                    connected = true
                case .lost(let reason):
                    guard connected else {
                        Console.writeError("error: cannot reach the broker \(session.broker): \(reason)\n")
                        session.close()
                        return 1
                    }
                    Console.writeError("tail: lost the broker \(session.broker): \(reason); reconnecting\n")
                case .acknowledged:
                    break
                }
            }
            var byte: UInt8 = 0
            if read(stop, &byte, 1) == 1 {
                session.close()
                return 0
            }
        }
    }

    /// Formats what arrives; confined to the session's thread (the caller's).
    final class Printer: Sendable {
        let options: Options
        let statusTopic: String

        init(options: Options, statusTopic: String) {
            self.options = options
            self.statusTopic = statusTopic
        }

        func print(topic: String, payload: [UInt8]) {
            let text = String(decoding: payload, as: UTF8.self)
            if topic == statusTopic {
                if !options.json {
                    let line = "\(WallClock.localTimeOfDay(WallClock.now()))  gateway \(text)"
                    Console.writeOutput((options.color ? "\u{1B}[2m\(line)\u{1B}[0m" : line) + "\n")
                }
                return
            }
            guard let event = try? Event(cloudEventJSON: text) else {
                Console.writeError("tail: \(topic): not a CloudEvent, skipped (\(payload.count) bytes)\n")
                return
            }
            if let device = options.device, !DeviceSelector(pattern: device).matches(event.subject) { return }
            if let type = options.type, event.type != type { return }
            if options.json {
                Console.writeOutput(text + "\n")
            } else {
                Console.writeOutput(ConsoleEventLine.line(for: event, color: options.color) + "\n")
            }
        }
    }
}
