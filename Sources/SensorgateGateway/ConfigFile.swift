// Loading a config from disk: the core's validation plus the checks only the host can make
// (credential file permissions, TLS files present). `check` and `run` both go through here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateAdapters
import SensorgateCore

public enum ConfigFile {
    public static func load(path: String, environment: [String: String] = FileSystem.environment(),
                            layout: InstallLayout = .current) -> ConfigLoadResult {
        let loader = ConfigLoader(files: FileConfigSource(), environment: environment, adapters: AdapterRegistry.all, layout: layout)
        var result = loader.load(path: systemAware(path, layout: layout))
        guard let config = result.config, let mqtt = config.mqtt else { return result }
        var problems: [Diagnostic] = []
        if let file = mqtt.passwordFile {
            if let mode = FileSystem.mode(file.value) {
                // Group-readable is the Debian way (root:sensorgate 0640); readable by everyone is not.
                if mode & 0o007 != 0 {
                    let f = file.value
                    problems.append(Diagnostic(.error, at: file.location,
                        "'\(f)' is open to every user on this host (mode \(String(mode & 0o777, radix: 8))); run chmod 600 '\(f)', or for the packaged service chown root:sensorgate '\(f)' && chmod 640 '\(f)'"))
                } else if FileSystem.read(file.value) == nil {
                    problems.append(Diagnostic(.error, at: file.location, "cannot read '\(file.value)': \(String(cString: strerror(errno)))"))
                }
            } else {
                problems.append(Diagnostic(.error, at: file.location, "password file '\(file.value)' does not exist"))
            }
        }
        for file in [mqtt.tls?.caFile, mqtt.tls?.certFile, mqtt.tls?.keyFile].compactMap({ $0 }) where FileSystem.read(file.value) == nil {
            problems.append(Diagnostic(.error, at: file.location, "cannot read '\(file.value)': \(String(cString: strerror(errno)))"))
        }
        if !problems.isEmpty {
            result.diagnostics = (result.diagnostics + problems).sortedByLocation()
            result.config = nil
        }
        return result
    }

    /// A relative config path read from a working directory under /etc is made absolute, so the
    /// loader sees a system config (and keeps its state out of /etc).
    static func systemAware(_ path: String, layout: InstallLayout) -> String {
        guard !path.hasPrefix("/"), let cwd = FileSystem.currentDirectory(), layout.isSystemPath(cwd) else { return path }
        return Paths.join(cwd, path)
    }

    /// The password from `password` or `password_file` (trailing newline removed).
    public static func password(for mqtt: MQTTSettings) -> String? {
        if let password = mqtt.password { return password }
        guard let file = mqtt.passwordFile, let text = FileSystem.readText(file.value) else { return nil }
        var password = text
        while let last = password.last, last.isNewline { password.removeLast() }
        return password
    }
}

extension Array where Element == Diagnostic {
    func sortedByLocation() -> [Diagnostic] {
        sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
    }
}
