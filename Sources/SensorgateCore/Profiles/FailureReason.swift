// Why a read produced no reading: a closed set, counted per device and reason, the rtl_433 way
// (`DECODE_FAIL_MIC` is not `DECODE_FAIL_SANITY`): a CRC failure is not a loose wire, and a
// user looking at the counts should see which one it is. The raw values are the names used in
// logs (and, later, metrics labels), so they never change.

public enum FailureReason: String, Sendable, CaseIterable, Comparable {
    // What the input said
    /// The sensor's own integrity check failed (w1_slave `crc=.. NO`).
    case crcFailed
    /// Parsed, but outside the profile's `valid_range`.
    case outOfRange
    /// Not the expected shape (not a number, not JSON, not UTF-8).
    case malformed
    /// JSON without the configured field, or text the regex does not match.
    case missingField
    /// An MQTT payload over `max_payload`.
    case oversized
    /// A serial line over `max_line_length`.
    case lineTooLong
    /// Serial bytes that are not text (often a wrong baud rate).
    case garbage

    // What the device did
    /// A sysfs file is gone (sensor unplugged, driver unloaded).
    case missing
    /// An I/O error reading the device.
    case readError
    /// A serial port cannot be opened.
    case portUnavailable
    /// A serial port cannot be configured (baud, bits).
    case portError
    /// A serial port failed while open (USB adapter pulled out).
    case portLost
    /// The kernel dropped GPIO edges (line_seqno jumped).
    case eventsLost
    /// The device's adapter stopped or could not start; it is restarted with a backoff.
    case adapterStopped

    // What the gateway did
    /// The device produced faster than the gateway could take: readings dropped.
    case overflow
    /// No event sequence number could be reserved (the state directory is not writable).
    case sequenceError

    public static func < (a: FailureReason, b: FailureReason) -> Bool { a.rawValue < b.rawValue }
}
