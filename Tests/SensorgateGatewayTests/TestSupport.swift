// Shared helpers: fixture and package paths, temporary directories, and the built
// `sensorgate` binary run as a real process.

import Foundation

enum TestPaths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The `sensorgate` executable built next to this test bundle.
    static var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("sensorgate")
    }
}

/// A fresh directory under /tmp, removed when the test is done with it.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sensorgate-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// A `sensorgate` process whose stdout and stderr are collected as they arrive.
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var collected = ""
    /// The pipe's end of file has been read: everything written is in `collected`.
    private var ended = false
    /// When output last arrived (seconds since the reference date).
    private var lastData = Date().timeIntervalSinceReferenceDate

    /// `journal`: JOURNAL_STREAM names the pipe stderr goes to, as systemd does for the journal's stream.
    init(_ arguments: [String], environment: [String: String] = [:], journal: Bool = false, executable: URL = TestPaths.binary) throws {
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let pipe = Pipe()
        if journal {
            var st = stat()
            fstat(pipe.fileHandleForWriting.fileDescriptor, &st)
            env["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
        }
        process.environment = env
        // Not the test runner's stdin: CI runs with none, and fd 0 is then whatever was opened
        // next (a pipe of another test's child).
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { handle.readabilityHandler = nil; return }
            if data.isEmpty {
                // The end of file once every writer has closed (POLLHUP, nothing left to read);
                // a wake-up with nothing to read is not one. At the end the handler goes: an
                // end of file stays readable, and kept, it spun on a dispatch thread.
                var poller = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 0) == 1, poller.revents & Int16(POLLHUP) != 0, poller.revents & Int16(POLLIN) == 0 {
                    handle.readabilityHandler = nil
                    self.lock.withLock { self.ended = true }
                }
                return
            }
            self.lock.withLock {
                self.collected += String(decoding: data, as: UTF8.self)
                self.lastData = Date().timeIntervalSinceReferenceDate
            }
        }
        try process.run()
    }

    var output: String { lock.withLock { collected } }

    /// A test that fails or throws before stopping its gateway does not leave it running (orphans
    /// from failed runs kept loading the machine for the tests after them).
    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    /// Waits until `predicate(output)` holds or `timeout` passes; true if it held. Suspends
    /// (never blocks a thread of the cooperative pool other tests' tasks need).
    func waitFor(timeout: TimeInterval = 20, _ predicate: (String) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(output) { return true }
            if !process.isRunning { return predicate(output) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(output)
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit (killing it after `timeout`) and returns the status.
    func waitForExit(timeout: TimeInterval = 20) async -> Int32 {
        let status = await exitStatus(within: timeout)
        let exited = Date().timeIntervalSinceReferenceDate
        // Until the pipe's end of file is read (a large output, such as an AsyncAPI document,
        // was cut when a loaded machine had not read it all 50 ms after the exit).
        // Or, when something else still holds the pipe (strace's traced child outlives strace),
        // until nothing has arrived for 3 s since the exit or the last output, whichever came
        // later (counted from the last output alone, a command that printed all at its end
        // after 3 s of work was cut before its output was read), at most 15 s.
        let drained = Date().addingTimeInterval(15)
        while Date() < drained {
            let (done, last) = lock.withLock { (ended, lastData) }
            if done || Date().timeIntervalSinceReferenceDate - max(last, exited) > 3 { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return status
    }

    /// The exit status once the process has ended, killed after `timeout`.
    private func exitStatus(within timeout: TimeInterval) async -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // In a CI run Foundation never reaped a SIGKILLed strace, and an unbounded wait here
        // spun for an hour on `isRunning`: 10 s after the SIGKILL the process counts as killed.
        let reaped = Date().addingTimeInterval(10)
        while process.isRunning, Date() < reaped { try? await Task.sleep(for: .milliseconds(5)) }
        return process.isRunning ? SIGKILL : process.terminationStatus
    }

    /// The `#seq` numbers of the event lines printed so far.
    var seqs: [UInt64] {
        output.split(separator: "\n").compactMap { line in
            guard let hash = line.lastIndex(of: "#") else { return nil }
            return UInt64(line[line.index(after: hash)...])
        }
    }
}

/// Runs a command to completion: (status, stdout+stderr); killed (status 9) after `timeout` seconds.
func runSensorgate(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 20,
                   executable: URL = TestPaths.binary) async throws -> (Int32, String) {
    let p = try GatewayProcess(arguments, environment: environment, executable: executable)
    let status = await p.waitForExit(timeout: timeout)
    return (status, p.output)
}

/// A pause inside an async test that does not hold a thread.
func pause(_ seconds: Double) async {
    try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
}
