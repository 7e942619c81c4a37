// The host's wall clock and whether NTP (or an RTC) has set it: a Pi without a real-time clock
// boots in the past, and events stamped then carry `clocksynced: false`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SensorgateCore

public enum WallClock {
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    /// The kernel's view (adjtimex): false while the clock is marked unsynchronized
    /// (true when the kernel cannot tell: better no flag than a wrong one).
    public static func isSynchronized() -> Bool {
        sg_clock_synchronized() != 0
    }

    /// `HH:MM:SS.mmm` in the host's time zone, for people watching a terminal.
    public static func localTimeOfDay(_ t: Timestamp) -> String {
        var seconds = time_t(t.millisecondsSinceEpoch / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(t.millisecondsSinceEpoch % 1000)
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms < 10 ? "00" : ms < 100 ? "0" : "")\(ms)"
    }

    /// Milliseconds on CLOCK_BOOTTIME: monotonic, and counting while the board is suspended.
    public static func bootMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The kernel's id for this boot, to tell a restart from a reboot ("" when unreadable).
    public static func bootID() -> String {
        (FileSystem.readText("/proc/sys/kernel/random/boot_id") ?? "").filter { !$0.isWhitespace }
    }

    /// Seconds east of UTC in the host's time zone (TZ, /etc/localtime) at `t`.
    public static func utcOffset(at t: Timestamp) -> Int {
        var seconds = time_t(t.secondsSinceEpoch)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return Int(parts.tm_gmtoff)
    }

    /// The instant the rules engine sees: boot clock for timers, wall clock and local time.
    public static func ruleInstant(wall: Timestamp = now()) -> RuleInstant {
        return RuleInstant(monotonic: bootMilliseconds(), wall: wall,
                           local: LocalTime(wall: wall, utcOffsetSeconds: utcOffset(at: wall)))
    }
}
