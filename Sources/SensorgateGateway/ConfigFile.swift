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
        guard let config = result.config else { return result }
        var problems: [Diagnostic] = []
        // Group-readable is the Debian way for the broker password (root:sensorgate 0640); the
        // HTTP token guards the house's readings and stays the service user's alone.
        if let file = config.mqtt?.passwordFile { problems += checkSecret(file, what: "password file", groupReadable: true) }
        if let file = config.http?.tokenFile {
            problems += checkSecret(file, what: "token file", groupReadable: false)
            if problems.isEmpty, (httpToken(for: config.http!) ?? "").isEmpty {
                problems.append(Diagnostic(.error, at: file.location, "the token file '\(file.value)' is empty"))
            }
        }
        if let tls = config.mqtt?.tls {
            for file in [tls.caFile, tls.certFile, tls.keyFile].compactMap({ $0 }) where FileSystem.read(file.value) == nil {
                problems.append(Diagnostic(.error, at: file.location, "cannot read '\(file.value)': \(String(cString: strerror(errno)))"))
            }
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

    /// A file holding a secret: it must exist, be readable, and be readable by nobody else
    /// (`groupReadable`: by nobody but its group).
    private static func checkSecret(_ file: Located<String>, what: String, groupReadable: Bool) -> [Diagnostic] {
        guard let mode = FileSystem.mode(file.value) else {
            return [Diagnostic(.error, at: file.location, "\(what) '\(file.value)' does not exist")]
        }
        let f = file.value
        if groupReadable, mode & 0o007 != 0 {
            return [Diagnostic(.error, at: file.location,
                               "'\(f)' is open to every user on this host (mode \(String(mode & 0o777, radix: 8))); run chmod 600 '\(f)', or for the packaged service chown root:sensorgate '\(f)' && chmod 640 '\(f)'")]
        }
        if !groupReadable, mode & 0o077 != 0 {
            return [Diagnostic(.error, at: file.location,
                               "'\(f)' is readable by group or others (mode \(String(mode & 0o777, radix: 8))); run chmod 600 on it")]
        }
        if FileSystem.read(file.value) == nil {
            return [Diagnostic(.error, at: file.location, "cannot read '\(file.value)': \(String(cString: strerror(errno)))")]
        }
        return []
    }

    /// The HTTP token from `token` or `token_file` (surrounding whitespace removed).
    public static func httpToken(for http: HTTPSettings) -> String? {
        if let token = http.token { return token }
        guard let file = http.tokenFile, let text = FileSystem.readText(file.value) else { return nil }
        return text.trimmingSpaces
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
