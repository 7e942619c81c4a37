// The version, in one place: `sensorgate --version`, the start log line, the man page, and the
// Debian package (the Makefile asks the built binary, so it is never written down twice).

public enum SensorgateVersion {
    public static let current = "0.1.0"
}
