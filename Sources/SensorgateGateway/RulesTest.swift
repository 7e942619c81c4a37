// `sensorgate rules test`: replays recorded events through the config's rules and thermostats
// with the events' own times as the clock, and prints what the engine emits as JSON lines.
// Deterministic: output seqs count from 1 and ids come from a fixed-seed generator.

import SensorgateCore

public enum RulesTest {
    public struct Summary: Sendable, Equatable {
        public var events = 0
        public var emitted = 0
        public var skipped = 0
        public var outOfOrder = 0
    }

    /// `until`: keep ticking after the last event up to this time (timers still running fire).
    public static func run(config: GatewayConfig, eventsPath: String, events text: String, until: Timestamp?,
                           output: (String) -> Void, error: (String) -> Void) -> Summary {
        var summary = Summary()
        var replay: RuleReplay? = nil
        var seq: UInt64 = 0
        var random = SplitMix64(seed: 0x5EED)  // the same ids on every replay
        func print(_ outputs: [RuleReplay.Output]) {
            for o in outputs {
                switch o.output {
                case .event(let subject, let data):
                    seq += 1
                    let event = Event(id: EventID(milliseconds: o.time.millisecondsSinceEpoch, using: &random),
                                      source: config.gateway.eventSource, subject: subject, time: o.time, seq: seq, data: data)
                    let payload = event.cloudEventBytes()
                    EmittedEventLog.shared?.record(payload)
                    output(String(decoding: payload, as: UTF8.self))
                case .publish(let topic, let payload, let retain, let qos):
                    var w = JSONWriter()
                    w.value(.object(["time": .string(o.time.rfc3339), "publish": .object([
                        "topic": .string(topic), "payload": .string(payload), "retain": .bool(retain), "qos": .number(Double(qos))])]))
                    output(w.string)
                }
                summary.emitted += 1
            }
        }
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let event: Event
            do {
                guard let parsed = try RecordedEvents.parse(line, line: lineNumber) else { continue }
                event = parsed
            } catch let e {
                error("\(eventsPath):\(lineNumber): error: \(e.message); line skipped")
                summary.skipped += 1
                continue
            }
            if replay == nil {
                replay = RuleReplay(config: config, start: event.time, utcOffset: { WallClock.utcOffset(at: $0) })
                print(replay!.start())
            }
            if event.time < replay!.now.wall {
                error("\(eventsPath):\(lineNumber): warning: time \(event.time) is before the previous event's; replayed at \(replay!.now.wall)")
                summary.outOfOrder += 1
            }
            summary.events += 1
            print(replay!.feed(event))
        }
        if var r = replay, let until {
            print(r.advance(to: until))
            replay = r
        }
        return summary
    }
}
