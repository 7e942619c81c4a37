// `sensorgate buffer dead-letter list|requeue|purge [--seq N]`: the events the broker refused
// too often, with its reason in words. Requeue puts them back into the buffer with their id and
// seq, to be sent first at the next start; it needs the gateway stopped (it holds the state_dir
// lock meanwhile), list and purge do not.

import SensorgateCore
import SensorgateMQTT
import SensorgateStorage

public enum DeadLetterTools {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static func path(_ config: GatewayConfig) -> String { Paths.join(config.gateway.stateDir, "buffer.db") }

    /// One JSON line per dead letter: seq, id, type, subject, topic, the broker's reason (code and
    /// words), when it was moved aside, and the event itself.
    public static func list(config: GatewayConfig, seq: UInt64?) throws -> [String] {
        let file = path(config)
        guard FileSystem.mode(file) != nil else { return [] }
        return try DeadLetters.list(path: file, seq: seq).map { letter in
            let event = try? JSONParser.parse(letter.event.payload)
            var members: [(String, JSONDocument)] = [
                ("seq", .number(Double(letter.event.seq))),
                ("id", event?["id"]?.stringValue.map { .string($0) } ?? .null),
                ("type", .string(letter.event.type)),
                ("subject", .string(letter.event.subject)),
                ("topic", .string(letter.event.topic)),
                ("reason_code", .number(Double(letter.reason))),
                ("reason", .string(MQTTConnection.reasonString(Int32(letter.reason)))),
            ]
            members.append(("dead_lettered_at", letter.at > 0 ? .string(Timestamp(millisecondsSinceEpoch: letter.at).rfc3339) : .null))
            members.append(("event", .string(String(decoding: letter.event.payload, as: UTF8.self))))
            return JSONDocument.object(members).rendered(indent: 0)
        }
    }

    /// Moves dead letters back into the buffer; refuses while a gateway runs on the state_dir.
    public static func requeue(config: GatewayConfig, seq: UInt64?) throws -> Int {
        let file = path(config)
        guard FileSystem.mode(file) != nil else { return 0 }
        let lock: StateDirectoryLock
        do { lock = try StateDirectoryLock.acquire(config.gateway.stateDir) } catch {
            let pid = FileSystem.readText(Paths.join(config.gateway.stateDir, "lock"))?.filter { !$0.isWhitespace } ?? "unknown"
            throw Failure(description: "cannot requeue while sensorgate runs on \(config.gateway.stateDir) (pid \(pid)): stop it, requeue, and start it again (requeued events are read at the start) (\(error))")
        }
        defer { withExtendedLifetime(lock) {} }
        let n = try DeadLetters.requeue(path: file, seq: seq)
        if n == 0, let seq { throw Failure(description: "no dead letter has seq \(seq)") }
        return n
    }

    public static func purge(config: GatewayConfig, seq: UInt64?) throws -> Int {
        let file = path(config)
        guard FileSystem.mode(file) != nil else { return 0 }
        let n = try DeadLetters.purge(path: file, seq: seq)
        if n == 0, let seq { throw Failure(description: "no dead letter has seq \(seq)") }
        return n
    }
}

