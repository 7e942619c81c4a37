// Where an installed gateway keeps its files (the Debian package's layout), and the defaults
// that follow from where a config file is: a config in /etc is a system one, whose state goes to
// /var/lib/sensorgate (never under /etc); one in a work tree keeps its state beside it.

public struct InstallLayout: Sendable, Equatable {
    /// What every command reads when no `--config` is given.
    public var defaultConfig: String
    /// A config under this folder is a system config.
    public var systemConfigRoot: String
    /// The default `state_dir` of a system config (systemd's `$STATE_DIRECTORY` comes first).
    public var systemStateDir: String
    /// Profiles are looked up here after the config's own profiles folder, in this order.
    public var systemProfileDirs: [String]

    public init(defaultConfig: String, systemConfigRoot: String, systemStateDir: String, systemProfileDirs: [String]) {
        self.defaultConfig = defaultConfig
        self.systemConfigRoot = systemConfigRoot
        self.systemStateDir = systemStateDir
        self.systemProfileDirs = systemProfileDirs
    }

    public static let standard = InstallLayout(
        defaultConfig: "/etc/sensorgate/sensorgate.yaml", systemConfigRoot: "/etc", systemStateDir: "/var/lib/sensorgate",
        systemProfileDirs: ["/etc/sensorgate/devices", "/usr/share/sensorgate/devices"])

    /// The layout for a binary at `executable`: installed as `PREFIX/bin/sensorgate`, its shipped
    /// profiles are in `PREFIX/share/sensorgate/devices` (`/usr/bin` → `/usr/share`, `/usr/local/bin`
    /// → `/usr/local/share`, and a package unpacked into a scratch root finds its own).
    public static func forExecutable(_ executable: String) -> InstallLayout {
        var layout = standard
        let bin = Paths.directory(of: executable)
        guard bin.hasSuffix("/bin") else { return layout }
        let prefix = Paths.directory(of: bin) == "/" ? "/usr" : Paths.directory(of: bin)
        layout.systemProfileDirs[1] = Paths.join(prefix, "share/sensorgate/devices")
        return layout
    }

    /// True for a path at or below `systemConfigRoot` (absolute paths only).
    public func isSystemPath(_ path: String) -> Bool {
        let p = Paths.normalize(path)
        return p == systemConfigRoot || p.hasPrefix(systemConfigRoot + "/")
    }
}
