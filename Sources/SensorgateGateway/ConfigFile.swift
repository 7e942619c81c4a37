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
    public static func load(path: String, environment: [String: String] = FileSystem.environment()) -> ConfigLoadResult {
        var result = ConfigLoader(files: FileConfigSource(), environment: environment, adapters: AdapterRegistry.all).load(path: path)
        guard let config = result.config else { return result }
        var problems: [Diagnostic] = []
        if let file = config.mqtt?.passwordFile { problems += checkSecret(file, what: "password file") }
        if let file = config.http?.tokenFile {
            problems += checkSecret(file, what: "token file")
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

    /// A file holding a secret: it must exist, be readable, and be readable by nobody else.
    private static func checkSecret(_ file: Located<String>, what: String) -> [Diagnostic] {
        guard let mode = FileSystem.mode(file.value) else {
            return [Diagnostic(.error, at: file.location, "\(what) '\(file.value)' does not exist")]
        }
        if mode & 0o077 != 0 {
            return [Diagnostic(.error, at: file.location,
                               "'\(file.value)' is readable by group or others (mode \(String(mode & 0o777, radix: 8))); run chmod 600 on it")]
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
