// Debian's chromium, headless, driven through the DevTools protocol over a pipe
// (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4, each a JSON object ended
// by a NUL byte): open a page, evaluate JavaScript in it, take screenshots. No WebSocket
// client and no driver program needed. Stopped by PID.

import Foundation

final class HeadlessChromium {
    static let path = "/usr/bin/chromium"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Failure: Error, CustomStringConvertible { var description: String }

    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private let profile: TemporaryDirectory
    private var nextID = 0
    private var pending: [UInt8] = []
    private var session: String?

    init() throws {
        profile = try TemporaryDirectory()
        var toChrome: [Int32] = [0, 0], fromChrome: [Int32] = [0, 0]
        // Close-on-exec: no other test's child keeps Chromium's pipes (dup2 gives the child its own copies).
        guard pipe(&toChrome) == 0, pipe(&fromChrome) == 0 else { throw Failure(description: "pipe failed") }
        for fd in toChrome + fromChrome { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        closeInheritedDescriptors(&actions, keep: [toChrome[0], fromChrome[1]])
        posix_spawn_file_actions_adddup2(&actions, toChrome[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromChrome[1], 4)
        for fd in [toChrome[1], fromChrome[0]] { posix_spawn_file_actions_addclose(&actions, fd) }
        let log = profile.url.appendingPathComponent("chromium.log").path
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = [Self.path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--hide-scrollbars", "--remote-debugging-pipe", "--user-data-dir=\(profile.url.path)", "about:blank"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.path, &actions, nil, argv, environ)
        close(toChrome[0])
        close(fromChrome[1])
        guard rc == 0 else { throw Failure(description: "cannot start chromium: \(String(cString: strerror(rc)))") }
        pid = child
        commands = toChrome[1]
        answers = fromChrome[0]
        _ = fcntl(answers, F_SETFL, fcntl(answers, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        close(answers)
    }

    /// Sends a command (to the page once one is open) and returns its `result`.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], timeout: Double = 20) async throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session, !method.hasPrefix("Target.") { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(commands, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw Failure(description: "chromium closed its pipe") }
            offset += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while Date() < deadline {
            while let end = pending.firstIndex(of: 0) {
                let data = Data(pending[..<end])
                pending.removeFirst(end + 1)
                guard let answer = try JSONSerialization.jsonObject(with: data) as? [String: Any], answer["id"] as? Int == id else { continue }
                if let error = answer["error"] { throw Failure(description: "\(method): \(error)") }
                return answer["result"] as? [String: Any] ?? [:]
            }
            let n = buffer.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            if n > 0 { pending += buffer[0..<n]; continue }
            if n == 0 { throw Failure(description: "chromium exited") }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw Failure(description: "\(method): no answer within \(timeout) s")
    }

    /// Opens a tab of `width`×`height` (a phone when `mobile`) and loads `url` in it.
    func open(_ url: String, width: Int, height: Int, mobile: Bool) async throws {
        let target = try await call("Target.createTarget", ["url": "about:blank"])
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target") }
        let attached = try await call("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        session = attached["sessionId"] as? String
        try await resize(width: width, height: height, mobile: mobile)
        try await call("Page.navigate", ["url": url])
    }

    func resize(width: Int, height: Int, mobile: Bool) async throws {
        try await call("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile])
    }

    /// The value of a JavaScript expression in the page (JSON-serializable values).
    func evaluate(_ expression: String) async throws -> Any? {
        let result = try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `expression` is true in the page; false after `timeout`.
    func waitUntil(_ expression: String, timeout: Double = 20) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await evaluate(expression) as? Bool == true { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// A PNG of the whole page as it is laid out now.
    func screenshot(to path: String) async throws {
        let result = try await call("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else { throw Failure(description: "no screenshot") }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
