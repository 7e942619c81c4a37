// The one wrapper around libmosquitto: a connection that owns its handle, driven by the caller's
// own poll loop (mosquitto_loop_read/write/misc), so libmosquitto never starts a thread, never
// reconnects on its own and never queues more than the caller hands it. Not thread-safe: create,
// use and destroy it on one thread; its callbacks run on that thread, inside the loop calls.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMosquitto
import SensorgateCore

public struct MQTTError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var description: String { message }
}

public struct MQTTOptions: Sendable, Equatable {
    /// Published by the broker if the connection vanishes without a DISCONNECT.
    public struct Will: Sendable, Equatable {
        public var topic: String
        public var payload: String
        public var retain: Bool
        public init(topic: String, payload: String, retain: Bool) {
            self.topic = topic
            self.payload = payload
            self.retain = retain
        }
    }

    public var host: String
    public var port: Int
    public var clientID: String
    public var protocolV5: Bool
    public var username: String?
    public var password: String?
    public var keepaliveSeconds: Int
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var useTLS: Bool
    public var insecure: Bool
    public var will: Will?

    public init(host: String, port: Int, clientID: String, protocolV5: Bool = true, username: String? = nil,
                password: String? = nil, keepaliveSeconds: Int = 30, useTLS: Bool = false, caFile: String? = nil,
                certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false, will: Will? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.protocolV5 = protocolV5
        self.username = username
        self.password = password
        self.keepaliveSeconds = keepaliveSeconds
        self.useTLS = useTLS
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecure = insecure
        self.will = will
    }
}

/// MQTT 5 PUBLISH properties (the CloudEvents binding's Content Type and User Properties,
/// message expiry); libmosquitto's property lists are built and freed inside `publish`.
public struct MQTTProperties: Sendable, Equatable {
    public var contentType: String?
    public var userProperties: [UserProperty]
    /// Message expiry interval, seconds.
    public var messageExpiry: UInt32?

    public init(contentType: String? = nil, userProperties: [UserProperty] = [], messageExpiry: UInt32? = nil) {
        self.contentType = contentType
        self.userProperties = userProperties
        self.messageExpiry = messageExpiry
    }

    public var isEmpty: Bool { contentType == nil && userProperties.isEmpty && messageExpiry == nil }
}

/// Owns one libmosquitto handle; used on one thread only (`@unchecked Sendable` is not claimed:
/// it never leaves the thread that made it).
public final class MQTTConnection {
    public let options: MQTTOptions
    private var handle: OpaquePointer?
    /// The last error libmosquitto logged (an OpenSSL certificate error, say), for failure lines.
    public private(set) var lastLoggedError: String?

    /// CONNACK: 0 = accepted; otherwise the (v5) reason code or (3.1.1) return code.
    public var onConnect: ((Int32) -> Void)?
    /// 0 = we asked for it; anything else = lost.
    public var onDisconnect: ((Int32) -> Void)?
    /// PUBACK for a QoS 1 message (or the send of a QoS 0 one): mid and MQTT 5 reason code (0 = success).
    public var onPublish: ((Int32, Int32) -> Void)?
    public var onMessage: ((String, [UInt8]) -> Void)?

    private static let libraryReady: Bool = { mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue }()

    public init(options: MQTTOptions) throws(MQTTError) {
        guard MQTTConnection.libraryReady else { throw MQTTError(code: -1, message: "libmosquitto failed to initialise") }
        self.options = options
        guard let mosq = mosquitto_new(options.clientID, true, nil) else {
            throw MQTTError(code: MOSQ_ERR_NOMEM.rawValue, message: "libmosquitto could not create a client (out of memory?)")
        }
        handle = mosq
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, options.protocolV5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311),
                  "setting the protocol version")
        _ = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)  // no 40 ms Nagle stalls on small events
        if let username = options.username {
            try check(mosquitto_username_pw_set(mosq, username, options.password), "setting the username")
        }
        if options.useTLS {
            let rc = mosquitto_tls_set(mosq, options.caFile, options.caFile == nil ? "/etc/ssl/certs" : nil,
                                       options.certFile, options.keyFile, nil)
            try check(rc, "setting up TLS (check ca_file, cert_file and key_file)")
            if options.insecure { _ = mosquitto_tls_insecure_set(mosq, true) }
        }
        if let will = options.will {
            let rc = will.payload.withCString { mosquitto_will_set(mosq, will.topic, Int32(will.payload.utf8.count), $0, 1, will.retain) }
            try check(rc, "setting the last will")
        }
        installCallbacks(mosq)
    }

    deinit {
        if let handle { mosquitto_destroy(handle) }
    }

    /// libmosquitto formats every log line (one per PUBLISH and PUBACK) when a log callback is
    /// set: it is set only while connecting, to catch OpenSSL's words for a failed handshake.
    public func captureErrors(_ on: Bool) {
        guard let handle else { return }
        if on {
            mosquitto_log_callback_set(handle) { _, obj, level, message in
                guard level & Int32(MOSQ_LOG_ERR) != 0, let message, let connection = MQTTConnection.from(obj) else { return }
                connection.lastLoggedError = String(cString: message)
            }
        } else {
            mosquitto_log_callback_set(handle, nil)
        }
    }

    private func installCallbacks(_ mosq: OpaquePointer) {
        if options.protocolV5 {
            mosquitto_connect_v5_callback_set(mosq) { _, obj, rc, _, _ in MQTTConnection.from(obj)?.onConnect?(rc) }
            mosquitto_disconnect_v5_callback_set(mosq) { _, obj, rc, _ in MQTTConnection.from(obj)?.onDisconnect?(rc) }
            mosquitto_publish_v5_callback_set(mosq) { _, obj, mid, reason, _ in MQTTConnection.from(obj)?.onPublish?(mid, reason) }
            mosquitto_message_v5_callback_set(mosq) { _, obj, message, _ in MQTTConnection.deliver(obj, message) }
        } else {
            mosquitto_connect_callback_set(mosq) { _, obj, rc in MQTTConnection.from(obj)?.onConnect?(rc) }
            mosquitto_disconnect_callback_set(mosq) { _, obj, rc in MQTTConnection.from(obj)?.onDisconnect?(rc) }
            mosquitto_publish_callback_set(mosq) { _, obj, mid in MQTTConnection.from(obj)?.onPublish?(mid, 0) }
            mosquitto_message_callback_set(mosq) { _, obj, message in MQTTConnection.deliver(obj, message) }
        }
    }

    private static func from(_ obj: UnsafeMutableRawPointer?) -> MQTTConnection? {
        obj.map { Unmanaged<MQTTConnection>.fromOpaque($0).takeUnretainedValue() }
    }

    private static func deliver(_ obj: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?) {
        guard let connection = from(obj), let message = message?.pointee, let topic = message.topic else { return }
        let payload = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(message.payloadlen))) } ?? []
        connection.onMessage?(String(cString: topic), payload)
    }

    private var mosq: OpaquePointer { handle! }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(code: rc, message: "\(what): \(MQTTConnection.describe(rc))") }
    }

    /// Starts a non-blocking connect; completion arrives through `onConnect`.
    public func connect() throws(MQTTError) {
        let rc = mosquitto_connect_async(mosq, options.host, Int32(options.port), Int32(options.keepaliveSeconds))
        try check(rc, "connecting to \(options.host):\(options.port)")
    }

    public func disconnect() {
        _ = mosquitto_disconnect(mosq)
    }

    /// Queues one message; returns its mid. libmosquitto writes it at once when the socket allows.
    /// `properties` are sent with MQTT 5 only (3.1.1 has none: they are left out, not refused).
    public func publish(topic: String, payload: [UInt8], qos: Int, retain: Bool,
                        properties: MQTTProperties = MQTTProperties()) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        guard options.protocolV5, !properties.isEmpty else {
            let rc = payload.withUnsafeBytes { mosquitto_publish(mosq, &mid, topic, Int32($0.count), $0.baseAddress, Int32(qos), retain) }
            try check(rc, "publishing to \(topic)")
            return mid
        }
        var list: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&list) }
        if let contentType = properties.contentType {
            try check(mosquitto_property_add_string(&list, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType), "adding the content type")
        }
        for property in properties.userProperties {
            try check(mosquitto_property_add_string_pair(&list, Int32(MQTT_PROP_USER_PROPERTY.rawValue), property.name, property.value),
                      "adding the user property \(property.name)")
        }
        if let expiry = properties.messageExpiry {
            try check(mosquitto_property_add_int32(&list, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), expiry),
                      "adding the message expiry")
        }
        let rc = payload.withUnsafeBytes {
            mosquitto_publish_v5(mosq, &mid, topic, Int32($0.count), $0.baseAddress, Int32(qos), retain, list)
        }
        try check(rc, "publishing to \(topic)")
        return mid
    }

    public func subscribe(_ topic: String, qos: Int) throws(MQTTError) {
        var mid: Int32 = 0
        try check(mosquitto_subscribe(mosq, &mid, topic, Int32(qos)), "subscribing to \(topic)")
    }

    public func unsubscribe(_ topic: String) throws(MQTTError) {
        var mid: Int32 = 0
        try check(mosquitto_unsubscribe(mosq, &mid, topic), "unsubscribing from \(topic)")
    }

    /// The socket to poll, or -1 when not connected.
    public var socket: Int32 { mosquitto_socket(mosq) }

    /// The pending error of the socket (SO_ERROR): ECONNREFUSED once a non-blocking connect failed.
    public var socketError: Int32 {
        let fd = socket
        guard fd >= 0 else { return 0 }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 ? code : errno
    }
    public var wantsWrite: Bool { mosquitto_want_write(mosq) }

    /// Each returns MOSQ_ERR_SUCCESS (0) or an error code; a non-zero code means the connection is gone.
    public func loopRead() -> Int32 { mosquitto_loop_read(mosq, 64) }
    public func loopWrite() -> Int32 { mosquitto_loop_write(mosq, 64) }
    public func loopMisc() -> Int32 { mosquitto_loop_misc(mosq) }

    /// A libmosquitto error code, and what to check.
    public static func describe(_ rc: Int32) -> String {
        let text = String(cString: mosquitto_strerror(rc))
        switch rc {
        case MOSQ_ERR_CONN_REFUSED.rawValue: return "\(text) (check the broker address and that it is running)"
        case MOSQ_ERR_NO_CONN.rawValue: return "\(text) (not connected)"
        case MOSQ_ERR_CONN_LOST.rawValue: return "\(text) (the broker closed the connection or the network dropped)"
        case MOSQ_ERR_TLS.rawValue: return "\(text) (check ca_file, the certificate's host name, cert_file and key_file)"
        case MOSQ_ERR_AUTH.rawValue, MOSQ_ERR_ACL_DENIED.rawValue: return "\(text) (check username and password)"
        case MOSQ_ERR_ERRNO.rawValue: return "\(text) (a system call failed: network unreachable, connection refused or reset)"
        case MOSQ_ERR_EAI.rawValue: return "\(text) (the broker's host name does not resolve)"
        case MOSQ_ERR_PAYLOAD_SIZE.rawValue: return "\(text) (the broker's maximum packet size is smaller)"
        case MOSQ_ERR_KEEPALIVE.rawValue: return "no answer from the broker within the keepalive (the network or the broker stalled)"
        default: return text
        }
    }

    /// An MQTT 5 reason code in words ("Not authorized" for 0x87).
    public static func reasonString(_ code: Int32) -> String { String(cString: mosquitto_reason_string(code)) }

    /// A CONNACK refusal in words.
    public func describeConnack(_ rc: Int32) -> String {
        if options.protocolV5 { return String(cString: mosquitto_reason_string(rc)) + " (reason code \(rc))" }
        return String(cString: mosquitto_connack_string(rc))
    }
}

extension MQTTConnection {
    /// Whether `topic` matches the subscription filter `filter` (`+` and `#` wildcards).
    public static func topic(_ topic: String, matches filter: String) -> Bool {
        var result = false
        return mosquitto_topic_matches_sub(filter, topic, &result) == MOSQ_ERR_SUCCESS.rawValue && result
    }
}
