// Threads the gateway owns, for the work that blocks: libmosquitto's loop and the SQLite writes
// of the forwarder, the pipeline's sequence and rule state, reads from sysfs, serial ports and
// GPIO lines. Async code hands work to them and awaits the result; it never blocks itself
// (the rule swift-nio's NIOThreadPool follows).

import CLinux

public enum OwnedThread {
    public struct StartFailure: Error, CustomStringConvertible {
        public let name: String
        public let code: Int32
        public var description: String { "cannot start the thread '\(name)' (error \(code))" }
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new, detached thread called `name` (15 characters are kept).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(StartFailure) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = sg_thread_start(name, 0, { arg in
            let body = Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
            body.run()
        }, box)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            throw StartFailure(name: name, code: rc)
        }
    }

    /// Lowers the calling thread's CPU priority (nice 0-19): work that must never slow the
    /// others (replays) runs at 10, so the scheduler prefers the live path when the CPU is short.
    public static func setNiceness(_ nice: Int32) {
        _ = sg_thread_set_nice(nice)
    }

    /// Runs `body` on a thread of its own and suspends (without blocking) until it returns.
    /// Cancelling the calling task does not stop `body`: give it a StopSignal.
    public static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async throws(StartFailure) -> T {
        let result: Result<T, StartFailure> = await withCheckedContinuation { done in
            do throws(StartFailure) {
                try start(name: name) { done.resume(returning: .success(body())) }
            } catch {
                done.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }
}
