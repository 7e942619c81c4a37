// The torture tests' fault proxy (Tests/Tools/faultproxy.py) between a gateway and its broker:
// drops, half-open stalls, 1-byte slices and delays, on command.

import Foundation

final class FaultProxy: @unchecked Sendable {
    let port: Int
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var printed = ""

    init(to target: Int) throws {
        port = try Broker.freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.packageRoot.appendingPathComponent("Tests/Tools/faultproxy.py").path,
                             String(port), String(target)]
        process.standardInput = input
        let output = Pipe()
        process.standardOutput = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.printed += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !lock.withLock({ printed.contains("ready") }) { usleep(10_000) }
    }

    deinit {
        try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
        process.terminate()
    }

    /// Sends a command (pass, drop, stall, slice, delay MS) and waits until it is in force.
    func set(_ command: String) async {
        let before = lock.withLock { printed.components(separatedBy: "mode ").count }
        try? input.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8))
        for _ in 0..<500 where lock.withLock({ printed.components(separatedBy: "mode ").count }) == before {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
