// The brokers of the interop matrix besides mosquitto (Broker.swift): a two-node RabbitMQ 3.10
// cluster with its MQTT plugin (Tests/RabbitMQ/rmq2.sh) and amqtt from PyPI (a venv under var/,
// made by `make test-cluster`). Both need installing, so their tests run under
// `make test-cluster` (SENSORGATE_CLUSTER=1), not `make test`.

import Foundation

enum OtherBrokers {
    /// `make test-cluster` sets it after installing rabbitmq-server and amqtt.
    static let enabled = ProcessInfo.processInfo.environment["SENSORGATE_CLUSTER"] != nil

    /// amqtt from the venv `make test-cluster` makes (or SENSORGATE_AMQTT).
    static var amqttBinary: String {
        ProcessInfo.processInfo.environment["SENSORGATE_AMQTT"]
            ?? TestPaths.packageRoot.appendingPathComponent("var/amqtt/bin/amqtt").path
    }
}

/// Runs a command to completion without holding a thread: (status, stdout+stderr).
func runCommand(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: TimeInterval = 240) async throws -> (Int32, String) {
    let dir = try TemporaryDirectory()
    let output = dir.url.appendingPathComponent("output").path
    let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    let pid = try spawnWithDefaultSignals("/usr/bin/env", assignments + [path] + arguments, output: output)
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline { kill(pid, SIGKILL) }
        try? await Task.sleep(for: .milliseconds(50))
    }
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
}

/// Two RabbitMQ nodes clustered on loopback, ports picked free for this run. Call `stop()`;
/// `deinit` only kills what is left.
final class RabbitMQCluster {
    let dir: TemporaryDirectory
    let environment: [String: String]
    /// MQTT ports of node 1 and node 2.
    let mqttPorts: [Int]
    private var stopped = false

    private init(dir: TemporaryDirectory, environment: [String: String], mqttPorts: [Int]) {
        self.dir = dir
        self.environment = environment
        self.mqttPorts = mqttPorts
    }

    static var script: String { TestPaths.packageRoot.appendingPathComponent("Tests/RabbitMQ/rmq2.sh").path }

    /// Starts both nodes and joins them (about 15-20 s on two cores).
    static func start() async throws -> RabbitMQCluster {
        let dir = try TemporaryDirectory()
        let (amqp, dist, mqtt) = (try freeBase(), try freeBase(), try freeBase())
        let environment = ["RMQ_AMQP_BASE": String(amqp), "RMQ_DIST_BASE": String(dist), "RMQ_MQTT_BASE": String(mqtt),
                           "ERL_EPMD_PORT": String(try Broker.freePort())]
        let cluster = RabbitMQCluster(dir: dir, environment: environment, mqttPorts: [mqtt + 1, mqtt + 2])
        for step in ["start", "join"] {
            let (status, output) = try await runCommand("/bin/bash", [script, dir.url.path, step], environment: environment)
            guard status == 0 else {
                await cluster.stop()
                throw ClusterError(message: "rmq2.sh \(step) failed (\(status)): \(output)")
            }
        }
        return cluster
    }

    struct ClusterError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// A base such that base+1 and base+2 are free.
    private static func freeBase() throws -> Int {
        for _ in 0..<50 {
            let port = try Broker.freePort()
            if port < 65_000, !Broker.accepts(port + 1), canBind(port + 1) { return port - 1 }
        }
        throw ClusterError(message: "no two free ports in a row")
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    func pid(node: Int) -> pid_t? {
        (try? String(contentsOfFile: dir.url.appendingPathComponent("n\(node)/rabbit.pid").path, encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// SIGKILL of the node's beam.smp: its connections close at once, as on a crash.
    func kill9(node: Int) {
        if let pid = pid(node: node) { kill(pid, SIGKILL) }
    }

    func stop() async {
        guard !stopped else { return }
        stopped = true
        _ = try? await runCommand("/bin/bash", [Self.script, dir.url.path, "stop"], environment: environment, timeout: 60)
        for node in 1...2 { if let pid = pid(node: node) { kill(pid, SIGKILL) } }
    }

    deinit {
        guard !stopped else { return }
        for node in 1...2 { if let pid = pid(node: node) { kill(pid, SIGKILL) } }
    }
}

/// amqtt (PyPI) on a free loopback port. Anonymous clients are refused: amqtt keeps persistent
/// sessions only for clients that send a username (any name is accepted).
final class AMQTTBroker {
    let port: Int
    let dir: TemporaryDirectory
    private var pid: pid_t?

    init() throws {
        dir = try TemporaryDirectory()
        port = try Broker.freePort()
        _ = try dir.write("broker.yaml", """
            listeners:
              default:
                type: tcp
                bind: 127.0.0.1:\(port)
            plugins:
              amqtt.plugins.authentication.AnonymousAuthPlugin:
                allow_anonymous: false
            """)
        pid = try spawnWithDefaultSignals(OtherBrokers.amqttBinary, ["-c", dir.url.appendingPathComponent("broker.yaml").path],
                                          output: dir.url.appendingPathComponent("amqtt.log").path)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, !Broker.accepts(port) { usleep(20_000) }
    }

    deinit {
        guard let pid else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// One RabbitMQ cluster at a time: Swift Testing runs suites in parallel, and two clusters
/// starting together on two cores slow each other past the tests' timeouts.
actor ClusterTurn {
    static let shared = ClusterTurn()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

extension Subscriber {
    /// Publishes to `sensorgate/ready` until this subscriber receives it: its subscription is in
    /// place (RabbitMQ binds a new session's queue asynchronously, and under load that takes a
    /// while), so no event published from now on can be missed.
    func waitUntilSubscribed(port: Int, client: [String]) async -> Bool {
        for attempt in 0..<60 {
            _ = try? await runCommand("/usr/bin/mosquitto_pub",
                                      ["-p", String(port), "-t", "sensorgate/ready", "-m", "\(attempt)", "-q", "1"] + client,
                                      timeout: 10)
            if await waitFor(timeout: 0.5, { $0.lines.contains { $0.hasPrefix("sensorgate/ready ") } }) { return true }
        }
        return false
    }
}
