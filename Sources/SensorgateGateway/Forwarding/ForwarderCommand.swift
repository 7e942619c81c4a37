// Messages that are not events: a rule's `publish`, or an actuator command. Actuator commands
// carry a `key`: only the latest per key is kept, and it is sent again after every reconnect
// (a relay must end up in the state the thermostat believes in). Commands wait in memory while
// the broker is away (at most `limit`; beyond, the oldest rule publishes are dropped and
// counted); they are not written to the buffer: after a restart the thermostats announce their
// state again anyway.

public struct ForwarderCommand: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var retain: Bool
    public var qos: Int
    public var key: String?

    public init(topic: String, payload: [UInt8], retain: Bool, qos: Int, key: String? = nil) {
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.qos = qos
        self.key = key
    }
}

/// The commands waiting for the broker, and the latest per actuator key.
struct CommandQueue {
    static let limit = 1000
    private(set) var waiting: [ForwarderCommand] = []
    /// The latest command per key, asserted again on every connection.
    private var asserted: [String: ForwarderCommand] = [:]
    private(set) var dropped = 0

    /// Adds a command; true when a rule publish had to be dropped to stay within `limit`.
    mutating func add(_ command: ForwarderCommand) -> Bool {
        if let key = command.key {
            asserted[key] = command
            waiting.removeAll { $0.key == key }
        }
        waiting.append(command)
        if waiting.count > Self.limit, let i = waiting.firstIndex(where: { $0.key == nil }) {
            waiting.remove(at: i)
            dropped += 1
            return true
        }
        return false
    }

    /// A new connection: every actuator's latest state goes out again, before what waits.
    mutating func connected() {
        let pending = Set(waiting.compactMap(\.key))
        waiting = asserted.filter { !pending.contains($0.key) }.sorted { $0.key < $1.key }.map(\.value) + waiting
    }

    mutating func removeFirst() -> ForwarderCommand? { waiting.isEmpty ? nil : waiting.removeFirst() }
    mutating func pushFront(_ command: ForwarderCommand) { waiting.insert(command, at: 0) }
}
