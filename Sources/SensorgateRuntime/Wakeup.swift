// A wake-up a thread can poll() on beside its sockets and device fds: an eventfd that any thread
// signals. The gateway's own threads wait on these instead of condition variables.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SensorgateCore

public final class Wakeup: Sendable {
    public let fd: Int32

    public init() {
        let fd = sg_eventfd()
        precondition(fd >= 0, "eventfd failed: \(String(cString: strerror(-fd)))")
        self.fd = fd
    }

    deinit { close(fd) }

    public func signal() { _ = sg_eventfd_signal(fd) }

    /// Clears the signal; true when there was one.
    @discardableResult
    public func reset() -> Bool { sg_eventfd_drain(fd) > 0 }

    /// Waits until signalled or `timeout` passes (nil: no limit), and clears the signal.
    /// True when it was signalled.
    @discardableResult
    public func wait(timeout: Duration?) -> Bool {
        _ = Wakeup.poll([fd], timeout: timeout)
        return reset()
    }

    /// poll() for reading on `fds` (negative fds are skipped), retrying on EINTR until `timeout`.
    /// Returns the readiness of each fd (POLLIN, POLLHUP, POLLERR bits).
    public static func poll(_ fds: [Int32], timeout: Duration?) -> [Int16] {
        var entries = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        while true {
            var ms: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                // Rounded up, so a wait never ends just before its deadline and spins.
                ms = left <= .zero ? 0 : Int32(clamping: (left + .nanoseconds(999_999)).milliseconds)
            }
            let n = Glibc.poll(&entries, nfds_t(entries.count), ms)
            if n < 0, errno == EINTR { continue }
            return entries.map(\.revents)
        }
    }
}
