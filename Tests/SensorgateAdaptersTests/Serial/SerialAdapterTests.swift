import CLinux
import Foundation
import Testing
import SensorgateCore
@testable import SensorgateAdapters

/// The serial adapter on real pseudo-terminals: openpty for data, socat for a port that
/// disappears and comes back.
@Suite(.serialized) struct SerialAdapterTests {
    static let arduino = ReadingSpec(event: .temperatureReading, format: .regex(pattern: #"T=(?<value>-?[0-9]+(\.[0-9]+)?)"#), validRange: -55...125)

    /// A pty pair in raw mode: write to `controller`, the adapter opens `path`.
    final class Pty {
        let controller: Int32
        let device: Int32
        let path: String
        init() throws {
            var c: Int32 = -1, d: Int32 = -1
            var name = [CChar](repeating: 0, count: 128)
            #expect(sg_openpty(&c, &d, &name, name.count) == 0)
            controller = c
            device = d
            path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(sg_serial_configure(d, 9600, 8, 0, 1) == 0)
        }
        func send(_ text: String) { _ = text.withCString { write(controller, $0, strlen($0)) } }
        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(controller, $0.baseAddress, $0.count) } }
        deinit { close(controller); close(device) }
    }

    func readings(_ log: [AdapterOutput]) -> [Double] {
        log.compactMap { if case .reading(let r) = $0, case .temperature(let c) = r.value { return c } else { return nil } }
    }

    func reasons(_ log: [AdapterOutput]) -> [String] {
        log.compactMap { if case .failure(_, let reason, _) = $0 { return reason.rawValue } else { return nil } }
    }

    @Test func linesSplitAcrossWritesGarbageAndOverlongLines() async throws {
        let pty = try Pty()
        let adapter = try SerialAdapter(deviceID: "attic", settings: SerialSettings(port: pty.path, baud: 9600, maxLineLength: 32),
                                        spec: Self.arduino)
        let log = OutputLog()
        let task = Task { try await adapter.run(into: log.sink) }
        defer { task.cancel() }
        try await Task.sleep(for: .milliseconds(300))  // let it open the port
        pty.send("T=21.")
        try await Task.sleep(for: .milliseconds(50))
        pty.send("50\r")
        try await Task.sleep(for: .milliseconds(50))
        pty.send("\nT=22.25\r\n")
        pty.send([0xFF, 0x13, 0x80, 0x0A])                   // line noise
        pty.send(String(repeating: "9", count: 100) + "\n")  // over max_line_length
        pty.send("hello\n")                                  // no T= in it
        pty.send("T=300\n")                                  // outside valid_range
        pty.send("T=-3.5\n")
        #expect(await log.waitFor { items in items.count >= 7 })
        let items = await log.items
        #expect(readings(items) == [21.5, 22.25, -3.5])
        #expect(reasons(items) == ["garbage", "lineTooLong", "missingField", "outOfRange"])
    }

    @Test func aPathThatIsNotASerialPortIsAnErrorCountedOncePerOutage() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-tty-\(UUID().uuidString)")
        try Data("T=21\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let adapter = try SerialAdapter(deviceID: "usb", settings: SerialSettings(port: file.path, baud: 9600), spec: Self.arduino)
        let log = OutputLog()
        let task = Task { try await adapter.run(into: log.sink) }
        #expect(await log.waitFor { reasons($0) == ["portError"] })
        try await Task.sleep(for: .milliseconds(1700))  // several retries (0.5 s, 1 s): still counted once
        task.cancel()
        #expect(reasons(await log.items) == ["portError"])
        guard case .failure(_, _, let detail)? = await log.items.first else { return }
        #expect(detail.contains("cannot set \(file.path) to 9600 baud"))
    }

    @Test func aPortThatVanishesAndComesBackIsReopened() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serial-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = dir.appendingPathComponent("ttyV0").path, other = dir.appendingPathComponent("ttyV1").path
        func startSocat() throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
            p.arguments = ["pty,raw,echo=0,link=\(port)", "pty,raw,echo=0,link=\(other)"]
            try p.run()
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: other) { Thread.sleep(forTimeInterval: 0.02) }
            return p
        }
        func send(_ text: String) {
            let fd = open(other, O_WRONLY | O_NOCTTY)
            guard fd >= 0 else { Issue.record("cannot open \(other)"); return }
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        let adapter = try SerialAdapter(deviceID: "usb", settings: SerialSettings(port: port, baud: 115200), spec: Self.arduino)
        let log = OutputLog()
        // Unplugged at start: counted once, retried.
        let task = Task { try await adapter.run(into: log.sink) }
        defer { task.cancel() }
        #expect(await log.waitFor { reasons($0) == ["portUnavailable"] })
        var socat = try startSocat()
        // The adapter's backoff finds it; keep sending until a line gets through.
        func deliver(_ value: Double) async -> Bool {
            for _ in 0..<120 {
                send("T=\(value)\n")
                if await log.waitFor(timeout: .milliseconds(250), { readings($0).contains(value) }) { return true }
            }
            return false
        }
        #expect(await deliver(20.0))
        kill(socat.processIdentifier, SIGKILL)
        socat.waitUntilExit()
        #expect(await log.waitFor { reasons($0).contains("portLost") })
        socat = try startSocat()
        defer { kill(socat.processIdentifier, SIGKILL); socat.waitUntilExit() }
        #expect(await deliver(21.0))
    }
}
