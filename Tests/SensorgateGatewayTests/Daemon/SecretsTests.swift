import Foundation
import Testing

/// The broker password never leaves the gateway except to the broker: not in logs at any
/// level or format, not in `check`, not on a reload, not in a crash report, not on any topic.
@Suite(.serialized) struct SecretsTests {
    static let password = "Sg-Secret-7f3a9c-\(UUID().uuidString.prefix(8))"

    @Test func thePasswordAppearsInNoOutputOfARun() async throws {
        let broker = try Broker(users: ["gateway": Self.password, "watcher": "watcher-pw"])
        let subscriber = try Subscriber(port: broker.port, filter: "#", login: ("watcher", "watcher-pw"))
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, subscriber, dir)) {} }
        let secret = try dir.write("mqtt-password", Self.password + "\n")
        chmod(secret.path, 0o640)
        var outputs: [String] = []

        var config = try Self.config(dir, broker: broker, credentials: "password_file: mqtt-password")
        let (checked, checkOutput) = try await runSensorgate(["check", "--config", config.path, "--log-level", "trace"])
        #expect(checked == 0)
        outputs.append(checkOutput)

        for format in ["text", "json"] {
            let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "trace", "--log-format", format,
                                              "--summary-interval", "1s"], journal: format == "json")
            #expect(await gateway.waitFor { $0.contains("connected to 127.0.0.1:\(broker.port)") && $0.contains("summary (last 1s)") })
            // Reload onto a wrong password (refused, logged) and back.
            config = try Self.config(dir, broker: broker, credentials: "password: wrong-\(Self.password.suffix(4))")
            gateway.signal(SIGHUP)
            #expect(await gateway.waitFor { $0.contains("the broker refused the connection") })
            config = try Self.config(dir, broker: broker, credentials: "password_file: mqtt-password")
            gateway.signal(SIGHUP)
            #expect(await gateway.waitFor { $0.components(separatedBy: "reloaded:").count == 3 })
            gateway.signal(SIGTERM)
            #expect(await gateway.waitForExit() == 0)
            outputs.append(gateway.output)
        }

        // The password inline, in a config with an error elsewhere: `check` shows the error only.
        let inline = try Self.config(dir, broker: broker, credentials: "password: \(Self.password)\n  usernme: typo")
        let (bad, badOutput) = try await runSensorgate(["check", "--config", inline.path])
        #expect(bad == 1 && badOutput.contains("unknown key 'usernme'"))
        outputs.append(badOutput)
        // Mistaken for a variable: the message does not echo it.
        let braces = try Self.config(dir, broker: broker, credentials: "password: ${\(Self.password)}")
        let (_, bracesOutput) = try await runSensorgate(["check", "--config", braces.path])
        #expect(bracesOutput.contains("is not an environment variable name"))
        outputs.append(bracesOutput)

        // A crash report (the Swift runtime's backtracer: stacks, registers) while connected with
        // the password in memory. A SIGSEGV sent with kill() gets the full report; the process is
        // then ended by hand, as it would not be by a real fault.
        config = try Self.config(dir, broker: broker, credentials: "password_file: mqtt-password")
        let crashing = try GatewayProcess(["run", "--config", config.path, "--log-level", "trace"])
        #expect(await crashing.waitFor { $0.contains("connected to 127.0.0.1:\(broker.port)") })
        crashing.signal(SIGSEGV)
        #expect(await crashing.waitFor(timeout: 30) { $0.contains("Registers:") && $0.contains("Backtrace took") }, "\(crashing.output.suffix(400))")
        crashing.signal(SIGKILL)
        _ = await crashing.waitForExit()
        outputs.append(crashing.output)

        await pause(0.5)
        outputs.append(subscriber.lines.joined(separator: "\n"))
        #expect(subscriber.lines.contains("sensorgate/secret-gw/status online"))
        #expect(subscriber.lines.count > 20, "the broker traffic was captured")
        for output in outputs {
            #expect(!output.contains(Self.password), "the password leaked:\n\(output)")
            #expect(!output.contains(String(Self.password.dropFirst(3).prefix(12))))
        }
    }

    static func config(_ dir: TemporaryDirectory, broker: Broker, credentials: String) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: secret-gw, state_dir: ./state }
            mqtt:
              url: "mqtt://127.0.0.1:\(broker.port)"
              username: gateway
              \(credentials)
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 50ms }
              - { id: f, adapter: simulated, kind: temperature, interval: 50ms, fail_rate: 0.5 }
            """)
    }
}
