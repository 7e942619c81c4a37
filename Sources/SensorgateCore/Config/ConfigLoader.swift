// Loads a gateway config: YAML in, a validated GatewayConfig and every problem found out.
// Pure: files are read through the ConfigFileSource it is given and the environment is passed in.

internal import SensorgateYAML

/// Where config and profile text comes from (the real file system in the gateway, a dictionary in tests).
public protocol ConfigFileSource {
    func readFile(_ path: String) -> String?
    /// File names in a directory, nil when it cannot be listed.
    func listDirectory(_ path: String) -> [String]?
}

public struct ConfigLoadResult: Sendable {
    /// Present when there are no errors (warnings allowed).
    public var config: GatewayConfig?
    public var diagnostics: [Diagnostic]
}

public struct ConfigLoader {
    private let files: any ConfigFileSource
    private let environment: [String: String]
    private let adapters: [AdapterDefinition]
    private let layout: InstallLayout

    /// `adapters`: every adapter a device may name, in the order messages list them
    /// (the gateway passes `AdapterRegistry.all`); `layout`: the system folders for defaults.
    public init(files: any ConfigFileSource, environment: [String: String], adapters: [AdapterDefinition],
                layout: InstallLayout = .standard) {
        self.files = files
        self.environment = environment
        self.adapters = adapters
        self.layout = layout
    }

    public func load(path: String) -> ConfigLoadResult {
        guard let text = files.readFile(path) else {
            let d = Diagnostic(.error, at: SourceLocation(file: path, line: 1, column: 1), "cannot read the config file")
            return ConfigLoadResult(config: nil, diagnostics: [d])
        }
        let loading = ConfigLoading(files: files, reader: YAMLReader(environment: environment), path: path, adapters: adapters,
                                    layout: layout)
        let config = loading.load(text)
        let diagnostics = loading.reader.diagnostics.sortedForDisplay(mainFile: path)
        return ConfigLoadResult(config: diagnostics.errorCount == 0 ? config : nil, diagnostics: diagnostics)
    }
}

extension Array where Element == Diagnostic {
    /// The config file's problems first, then each profile's, each in line order.
    func sortedForDisplay(mainFile: String) -> [Diagnostic] {
        var seen = Set<Diagnostic>()
        let unique = filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            let la = a.element.location, lb = b.element.location
            if la.file != lb.file {
                if la.file == mainFile { return true }
                if lb.file == mainFile { return false }
                return la.file < lb.file
            }
            if la.line != lb.line { return la.line < lb.line }
            if la.column != lb.column { return la.column < lb.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// One load: the reader collecting diagnostics, and what has been read so far.
final class ConfigLoading {
    let files: any ConfigFileSource
    let reader: YAMLReader
    let path: String
    let adapters: [AdapterDefinition]
    let layout: InstallLayout
    /// Every key some device may have, so a key of another adapter is called misplaced, not unknown.
    let allDeviceKeys: [String]
    var profileCache: [String: LoadedProfile?] = [:]
    /// The devices that loaded, for checks that need their channels and filters (thermostats).
    var loadedDevices: [DeviceConfig] = []

    init(files: any ConfigFileSource, reader: YAMLReader, path: String, adapters: [AdapterDefinition], layout: InstallLayout) {
        self.files = files
        self.reader = reader
        self.path = path
        self.adapters = adapters
        self.layout = layout
        var keys = Self.commonDeviceKeys + Self.readingKeys + Self.filterKeys
        for adapter in adapters { keys += adapter.keys.filter { !keys.contains($0) } }
        allDeviceKeys = keys
    }

    static let topLevelKeys = ["gateway", "mqtt", "buffer", "history", "devices", "rules", "thermostats", "http", "homeassistant"]

    func load(_ text: String) -> GatewayConfig? {
        guard let root = reader.compose(text, file: path), let entries = reader.mapping(root, "the config file") else { return nil }
        reader.checkKeys(entries, allowed: Self.topLevelKeys, in: "the config file")
        let table = EntryTable(entries)

        guard let gatewayValue = table["gateway"] else {
            reader.error("the config needs a 'gateway' section with at least an 'id'", at: root.location)
            return nil
        }
        let gateway = loadGateway(gatewayValue)
        let mqtt = table["mqtt"].flatMap { loadMQTT($0, gatewayID: gateway?.id) }
        let buffer = table["buffer"].map(loadBuffer) ?? BufferSettings()
        let history = table["history"].flatMap { loadHistory($0, hasMQTT: mqtt != nil || table["mqtt"] != nil) }
        let devices = table["devices"].map { loadDevices($0, profilesDirs: gateway?.profilesDirs ?? profilesDirs()) } ?? []
        if mqtt == nil, table["mqtt"] == nil {
            for device in devices where device.settings.requiresBroker {
                reader.error("device '\(device.id)' reads an MQTT topic, but there is no 'mqtt' section to connect with", at: device.declaredAt)
            }
        }
        loadedDevices = devices
        let deviceRefs = collectDeviceRefs(table["devices"], loaded: devices)
        let thermostatNames = collectNames(table["thermostats"])
        let thermostats = table["thermostats"].map { loadThermostats($0, devices: deviceRefs, hasMQTT: mqtt != nil) } ?? []
        let rules = table["rules"].map { loadRules($0, devices: deviceRefs, thermostats: thermostatNames, hasMQTT: mqtt != nil) } ?? []
        let http = table["http"].flatMap(loadHTTP)
        let homeAssistant = table["homeassistant"].flatMap { loadHomeAssistant($0, hasMQTT: mqtt != nil || table["mqtt"] != nil) }
        if homeAssistant != nil, mqtt?.stateTopics == false, let hv = table["homeassistant"] {
            reader.error("'homeassistant' reads the retained state topics, which 'state_topics: false' in 'mqtt' turns off", at: hv.location)
        }

        guard let gateway, reader.diagnostics.errorCount == 0 else { return nil }
        var config = GatewayConfig(gateway: gateway, mqtt: mqtt, buffer: buffer, devices: devices, rules: rules,
                                   thermostats: thermostats, http: http, history: history)
        config.homeAssistant = homeAssistant
        return config
    }

    // MARK: Paths

    var configDirectory: String { Paths.directory(of: path) }

    /// A config in /etc: its state goes to /var/lib, its profiles come from the system folders.
    var isSystemConfig: Bool { layout.isSystemPath(configDirectory) }

    /// `profiles_dir` (or, for a config outside /etc, `Devices/` beside it and beside its folder),
    /// then the system folders.
    func profilesDirs(explicit: String? = nil) -> [String] {
        var dirs: [String]
        if let explicit {
            dirs = [Paths.join(configDirectory, explicit)]
        } else if isSystemConfig {
            dirs = []
        } else {
            dirs = [Paths.join(configDirectory, "Devices"), Paths.join(Paths.directory(of: configDirectory), "Devices")]
        }
        for dir in layout.systemProfileDirs where !dirs.contains(dir) { dirs.append(dir) }
        return dirs
    }

    /// systemd's `$STATE_DIRECTORY` (its first entry), else /var/lib/sensorgate for a system
    /// config, else `var/` beside the config.
    func defaultStateDir() -> String {
        if let systemd = reader.environment["STATE_DIRECTORY"]?.split(separator: ":").first, !systemd.isEmpty {
            return String(systemd)
        }
        return isSystemConfig ? layout.systemStateDir : Paths.join(configDirectory, "var")
    }

    // MARK: gateway

    static let gatewayKeys = ["id", "state_dir", "profiles_dir"]

    func loadGateway(_ v: YAMLValue) -> GatewaySettings? {
        guard let entries = reader.mapping(v, "'gateway'") else { return nil }
        reader.checkKeys(entries, allowed: Self.gatewayKeys, in: "'gateway'")
        let t = EntryTable(entries)
        guard let idValue = t["id"] else {
            reader.error("'gateway' needs an 'id' (letters, digits, '_' and '-'; it names the gateway in topics)", at: v.location)
            return nil
        }
        guard let id = reader.identifier(idValue, "id") else { return nil }
        var stateDir = defaultStateDir()
        if let sv = t["state_dir"], let dir = reader.string(sv, "state_dir") {
            stateDir = Paths.join(configDirectory, dir)
            if layout.isSystemPath(stateDir) {
                reader.warning("'state_dir' is under \(layout.systemConfigRoot) (\(stateDir)): state belongs in \(layout.systemStateDir); leave 'state_dir' out to get it",
                               at: sv.location)
            }
        }
        let profilesDir = t["profiles_dir"].flatMap { reader.string($0, "profiles_dir") }
        return GatewaySettings(id: id, stateDir: stateDir, profilesDirs: profilesDirs(explicit: profilesDir))
    }

    // MARK: mqtt

    static let mqttKeys = ["url", "client_id", "protocol", "username", "password", "password_file", "tls", "qos",
                           "topic_prefix", "keepalive", "max_inflight", "ack_timeout", "state_topics",
                           "urls", "prefer_primary_after", "message_expiry", "cloudevents", "layout", "topic_template"]
    static let tlsKeys = ["ca_file", "cert_file", "key_file", "insecure"]

    func loadMQTT(_ v: YAMLValue, gatewayID: String?) -> MQTTSettings? {
        guard let entries = reader.mapping(v, "'mqtt'") else { return nil }
        reader.checkKeys(entries, allowed: Self.mqttKeys, in: "'mqtt'")
        let t = EntryTable(entries)
        var ok = true

        var host = "127.0.0.1", port = 1883, useTLS = false
        if let urlValue = t["url"], let url = reader.string(urlValue, "url") {
            if let parsed = BrokerURL(url) {
                (host, port, useTLS) = (parsed.host, parsed.port, parsed.tls)
            } else {
                reader.error("'url' must look like mqtt://host:1883 or mqtts://host:8883, got \(urlValue.shown)", at: urlValue.location)
                ok = false
            }
        }
        var brokers: [BrokerURL] = []
        if let urlsValue = t["urls"] {
            if let urlValue = t["url"] {
                reader.error("give either 'url' or 'urls' (a list of brokers to fail over between), not both", at: urlValue.location)
                ok = false
            }
            if let items = reader.sequence(urlsValue, "'urls'") {
                if items.isEmpty {
                    reader.error("'urls' needs at least one broker, such as [mqtt://a:1883, mqtt://b:1883]", at: urlsValue.location)
                    ok = false
                }
                for item in items {
                    guard let text = reader.string(item, "urls") else { ok = false; continue }
                    guard let parsed = BrokerURL(text) else {
                        reader.error("each of 'urls' must look like mqtt://host:1883 or mqtts://host:8883, got \(item.shown)", at: item.location)
                        ok = false
                        continue
                    }
                    if brokers.contains(parsed) {
                        reader.error("\(item.shown) is listed twice in 'urls'", at: item.location)
                        ok = false
                    }
                    brokers.append(parsed)
                }
                if let first = brokers.first { (host, port, useTLS) = (first.host, first.port, first.tls) }
            }
        }
        var protocolVersion = MQTTSettings.ProtocolVersion.v5
        if let pv = t["protocol"], let text = reader.string(pv, "protocol") {
            switch text {
            case "5", "5.0": protocolVersion = .v5
            case "3.1.1", "311", "4": protocolVersion = .v311
            default:
                reader.error("'protocol' must be 5 or 3.1.1, got \(pv.shown)", at: pv.location)
                ok = false
            }
        }
        let password = t["password"].flatMap { reader.string($0, "password") }
        var passwordFile: Located<String>? = nil
        if let pf = t["password_file"], let file = reader.string(pf, "password_file") {
            passwordFile = Located(value: Paths.join(configDirectory, file), location: pf.location)
            if t["password"] != nil {
                reader.error("give either 'password' or 'password_file', not both", at: pf.location)
                ok = false
            }
        }
        var tls: TLSSettings? = nil
        if let tv = t["tls"], let tlsEntries = reader.mapping(tv, "'tls'") {
            reader.checkKeys(tlsEntries, allowed: Self.tlsKeys, in: "'tls'")
            let tt = EntryTable(tlsEntries)
            func file(_ key: String) -> Located<String>? {
                guard let fv = tt[key], let f = reader.string(fv, key) else { return nil }
                return Located(value: Paths.join(configDirectory, f), location: fv.location)
            }
            let insecure = tt["insecure"].flatMap { reader.bool($0, "insecure") } ?? false
            if insecure, let iv = tt["insecure"] {
                reader.warning("'insecure: true' skips the broker's certificate check: anyone on the path can read and alter the traffic", at: iv.location)
            }
            let cert = file("cert_file"), key = file("key_file")
            if (cert == nil) != (key == nil) {
                reader.error("a client certificate needs both 'cert_file' and 'key_file'", at: tv.location)
                ok = false
            }
            tls = TLSSettings(caFile: file("ca_file"), certFile: cert, keyFile: key, insecure: insecure)
            useTLS = true
            brokers = brokers.map { BrokerURL(host: $0.host, port: $0.port, tls: true) }
        }
        let qos = t["qos"].flatMap { reader.int($0, "qos", in: 0...1) } ?? 1
        let topicPrefix = t["topic_prefix"].flatMap { reader.string($0, "topic_prefix") } ?? "sensorgate"
        if let tp = t["topic_prefix"], topicPrefix.contains(where: { $0 == "+" || $0 == "#" }) {
            reader.error("'topic_prefix' may not contain the wildcards + or #", at: tp.location)
            ok = false
        }
        var keepalive = t["keepalive"].flatMap { reader.duration($0, "keepalive", minimum: .seconds(5), maximum: nil) } ?? .seconds(30)
        if let kv = t["keepalive"], keepalive > .seconds(65_535) {
            // MQTT carries the keepalive in 16 bits; more would overflow (and never connect).
            reader.error("'keepalive' must be at most 18h12m15s (65535 s, the most MQTT allows), got \(kv.shown)", at: kv.location)
            keepalive = .seconds(30)
            ok = false
        }
        let maxInflight = t["max_inflight"].flatMap { reader.int($0, "max_inflight", in: 1...1000) } ?? 100
        var ackTimeout = t["ack_timeout"].flatMap { reader.duration($0, "ack_timeout", minimum: .seconds(1)) } ?? .seconds(10)
        if let av = t["ack_timeout"], ackTimeout > .seconds(3600) {
            reader.error("'ack_timeout' must be at most 1h, got \(av.shown)", at: av.location)
            ackTimeout = .seconds(10)
            ok = false
        }
        let clientID = t["client_id"].flatMap { reader.string($0, "client_id") } ?? "sensorgate-\(gatewayID ?? "gateway")"
        var settings = MQTTSettings(host: host, port: port, useTLS: useTLS, clientID: clientID, protocolVersion: protocolVersion,
                                    username: t["username"].flatMap { reader.string($0, "username") }, password: password,
                                    passwordFile: passwordFile, tls: tls, qos: qos, topicPrefix: topicPrefix,
                                    keepalive: keepalive, maxInflight: maxInflight, ackTimeout: ackTimeout)
        settings.brokers = brokers
        settings.stateTopics = t["state_topics"].flatMap { reader.bool($0, "state_topics") } ?? true
        if !loadMQTTLayout(t, into: &settings) { ok = false }
        guard ok else { return nil }
        return settings
    }

    /// Issue 16's keys: failover preference, the CloudEvents binding, message expiry, topics.
    func loadMQTTLayout(_ t: EntryTable, into settings: inout MQTTSettings) -> Bool {
        var ok = true
        let v5 = settings.protocolVersion == .v5
        if let pv = t["prefer_primary_after"], let d = reader.duration(pv, "prefer_primary_after", minimum: .seconds(1)) {
            if t["urls"] == nil {
                reader.warning("'prefer_primary_after' only matters with several brokers in 'urls'", at: pv.location)
            }
            settings.preferPrimaryAfter = d
        }
        if let mv = t["message_expiry"], let d = reader.duration(mv, "message_expiry", minimum: .seconds(1)) {
            if !v5 {
                reader.error("'message_expiry' needs 'protocol: 5' (MQTT 3.1.1 has no message expiry)", at: mv.location)
                ok = false
            } else if d > .seconds(Int64(UInt32.max)) {
                reader.error("'message_expiry' must be at most \(UInt32.max) s (MQTT's limit), got \(mv.shown)", at: mv.location)
                ok = false
            } else {
                settings.messageExpiry = d
            }
        }
        if let cv = t["cloudevents"], let mode = reader.choice(cv, "cloudevents", MQTTSettings.CloudEventsMode.self) {
            if mode == .binary, !v5 {
                reader.error("'cloudevents: binary' needs 'protocol: 5' (it carries the attributes as MQTT 5 user properties; MQTT 3.1.1 has only structured mode)", at: cv.location)
                ok = false
            }
            settings.cloudEvents = mode
        }
        if let lv = t["layout"], let layout = reader.choice(lv, "layout", MQTTSettings.Layout.self) {
            settings.layout = layout
        }
        if let tv = t["topic_template"], let text = reader.string(tv, "topic_template") {
            let (template, problems) = TopicTemplate.parse(text)
            if let template { settings.topicTemplate = template }
            for problem in problems {
                reader.error(problem.description, at: location(of: problem.offset, in: tv))
                ok = false
            }
        }
        return ok
    }

    /// Where the character at `offset` of a one-line scalar was written (after an opening quote).
    func location(of offset: Int, in v: YAMLValue) -> SourceLocation {
        var location = v.location
        guard let scalar = v.node.scalar, !scalar.string.contains("\n"), !scalar.string.contains("$") else { return location }
        location.column += offset + (scalar.style == .plain ? 0 : 1)
        return location
    }

    // MARK: buffer

    static let bufferKeys = ["mode", "max_events", "max_bytes", "on_full", "sync", "save_after"]

    func loadBuffer(_ v: YAMLValue) -> BufferSettings {
        var b = BufferSettings()
        guard let entries = reader.mapping(v, "'buffer'") else { return b }
        reader.checkKeys(entries, allowed: Self.bufferKeys, in: "'buffer'")
        let t = EntryTable(entries)
        if let x = t["mode"].flatMap({ reader.choice($0, "mode", BufferSettings.Mode.self) }) { b.mode = x }
        if let x = t["max_events"].flatMap({ reader.int($0, "max_events", in: 1...1_000_000_000) }) { b.maxEvents = x }
        if let x = t["max_bytes"].flatMap({ reader.size($0, "max_bytes") }) { b.maxBytes = x }
        if let x = t["on_full"].flatMap({ reader.choice($0, "on_full", BufferSettings.OnFull.self) }) { b.onFull = x }
        if let x = t["sync"].flatMap({ reader.choice($0, "sync", BufferSettings.Sync.self) }) { b.sync = x }
        if let sv = t["save_after"], let x = reader.duration(sv, "save_after", minimum: .milliseconds(100)) {
            if x > .seconds(60) {
                reader.error("'save_after' must be at most 1m (it bounds what a kill -9 can lose), got \(sv.shown)", at: sv.location)
            } else {
                b.saveAfter = x
            }
        }
        return b
    }

    // MARK: history

    static let historyKeys = ["keep", "max_bytes", "replay_rate", "replay_max_events"]

    func loadHistory(_ v: YAMLValue, hasMQTT: Bool) -> HistorySettings? {
        var h = HistorySettings()
        if !hasMQTT {
            reader.error("'history' keeps the events delivered to the broker: it needs an 'mqtt' section", at: v.location)
            return nil
        }
        if v.isNull { return h }  // `history:` alone: the defaults
        guard let entries = reader.mapping(v, "'history'") else { return nil }
        reader.checkKeys(entries, allowed: Self.historyKeys, in: "'history'")
        let t = EntryTable(entries)
        if let x = t["keep"].flatMap({ reader.duration($0, "keep", minimum: .seconds(1)) }) { h.keep = x }
        if let mv = t["max_bytes"], let x = reader.size(mv, "max_bytes") {
            if x < 64 * 1024 {
                reader.error("'max_bytes' of 'history' must be at least 64KB, got \(mv.shown)", at: mv.location)
            } else {
                h.maxBytes = x
            }
        }
        if let x = t["replay_rate"].flatMap({ reader.int($0, "replay_rate", in: 1...100_000) }) { h.replayRate = x }
        if let x = t["replay_max_events"].flatMap({ reader.int($0, "replay_max_events", in: 1...100_000_000) }) { h.replayMaxEvents = x }
        return h
    }

    // MARK: http

    static let httpKeys = ["listen", "token", "token_file", "uplink_down_after"]

    func loadHTTP(_ v: YAMLValue) -> HTTPSettings? {
        guard let entries = reader.mapping(v, "'http'") else { return nil }
        reader.checkKeys(entries, allowed: Self.httpKeys, in: "'http'")
        let t = EntryTable(entries)
        var http = HTTPSettings()
        var ok = true
        if let lv = t["listen"] {
            if let text = reader.string(lv, "listen") {
                if let (host, port) = Self.listenAddress(text) {
                    (http.host, http.port) = (host, port)
                } else {
                    reader.error("'listen' must be HOST:PORT such as 127.0.0.1:9180 (or :PORT, or [::1]:PORT), got \(lv.shown)", at: lv.location)
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if let tv = t["token"], let token = reader.string(tv, "token") {
            if token.isEmpty || token.contains(where: { $0.isWhitespace }) {
                reader.error("'token' must be a non-empty word without spaces (try: openssl rand -hex 16)", at: tv.location)
                ok = false
            } else if token.count < 16 {
                reader.warning("a token of \(token.count) characters is easy to guess; use 16 or more (openssl rand -hex 16)", at: tv.location)
            }
            http.token = token
        }
        if let fv = t["token_file"], let file = reader.string(fv, "token_file") {
            http.tokenFile = Located(value: Paths.join(configDirectory, file), location: fv.location)
            if t["token"] != nil {
                reader.error("give either 'token' or 'token_file', not both", at: fv.location)
                ok = false
            }
        }
        if let dv = t["uplink_down_after"], let d = reader.duration(dv, "uplink_down_after", minimum: .seconds(1)) {
            http.uplinkDownAfter = d
        }
        if ok, !http.isLoopback, http.token == nil, http.tokenFile == nil {
            let at = t["listen"]?.location ?? v.location
            reader.error("'listen' \(http.listenText) can be reached from other hosts: set 'token' or 'token_file' (clients then send 'Authorization: Bearer TOKEN'), or listen on 127.0.0.1", at: at)
            ok = false
        }
        return ok ? http : nil
    }

    /// `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT` (the host then is 127.0.0.1).
    static func listenAddress(_ text: String) -> (String, Int)? {
        var host = "127.0.0.1", portText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.hasPrefix("[") {
                guard host.hasSuffix("]"), host.count > 2 else { return nil }
                host = String(host.dropFirst().dropLast())
            } else if host.contains(":") {
                return nil  // an IPv6 address needs its brackets
            }
            if host.isEmpty { host = "127.0.0.1" }
        }
        guard let port = Int(portText), (1...65535).contains(port), !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { return nil }
        return (host, port)
    }

    /// Every device id written in the file, with its kinds where the device loaded. A device with
    /// an error is still a known name, so rules naming it do not pile further errors on top.
    func collectDeviceRefs(_ v: YAMLValue?, loaded: [DeviceConfig]) -> [DeviceRef] {
        var refs = loaded.map { DeviceRef(id: $0.id, kinds: $0.eventTypes) }
        guard let v, case .sequence(let items) = v.node.content else { return refs }
        for item in items {
            guard let idNode = item["id"], let s = idNode.scalar else { continue }
            if let index = refs.firstIndex(where: { $0.id == s.string }) {
                if !loaded.contains(where: { $0.id == s.string && $0.declaredAt.line == idNode.mark.line }) { refs[index].kinds = nil }
            } else {
                refs.append(DeviceRef(id: s.string, kinds: nil))
            }
        }
        return refs
    }

    /// Thermostat names, read ahead so rules can refer to thermostats declared after them.
    func collectNames(_ v: YAMLValue?) -> [String] {
        guard let v, case .sequence(let items) = v.node.content else { return [] }
        return items.compactMap { $0["name"]?.scalar?.string }
    }
}

/// A device as rules and thermostats see it: the events its channels make; nil when the device
/// itself has errors.
struct DeviceRef {
    let id: String
    var kinds: [EventType]?

    /// True when the device makes `type` (or has errors, so nothing more is said about it).
    func makes(_ type: EventType) -> Bool { kinds?.contains(type) ?? true }

    /// `a motion`, `a temperature, humidity and pressure`: what it senses, for messages.
    var described: String {
        let names = (kinds ?? []).map(\.sensorKind)
        guard let last = names.last else { return "an unknown" }
        let text = names.count == 1 ? last : names.dropLast().joined(separator: ", ") + " and " + last
        return (text.first.map { "aeiou".contains($0) } ?? false ? "an " : "a ") + text
    }
}

extension EventType {
    /// How messages call a sensor of this type: `motion`, `temperature`, `humidity`, `contact`.
    var sensorKind: String { channelName }
}

/// `mqtt://host:port` and `mqtts://host:port` (also `tcp://`, `ssl://`, `[v6]:port`).
public struct BrokerURL: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// `mqtt://host:port` (IPv6 hosts in brackets).
    public var description: String {
        (tls ? "mqtts://" : "mqtt://") + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    public init?(_ text: String) {
        let schemes: [(String, Bool)] = [("mqtt://", false), ("tcp://", false), ("mqtts://", true), ("ssl://", true)]
        guard let (scheme, tls) = schemes.first(where: { text.hasPrefix($0.0) }) else { return nil }
        var rest = String(text.dropFirst(scheme.count))
        if rest.hasSuffix("/") { rest.removeLast() }
        var host = rest, port = tls ? 8883 : 1883
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@"), (1...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
        self.tls = tls
    }
}

/// Path arithmetic on strings (the core does no I/O and needs no Foundation).
public enum Paths {
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `relative` resolved against `base`, with `.` and `..` folded: `Config/../Devices` is `Devices`.
    public static func join(_ base: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") || base.isEmpty ? relative : base + "/" + relative)
    }

    /// Folds `.`, `..` and repeated slashes lexically (symlinks are left to the kernel).
    public static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
