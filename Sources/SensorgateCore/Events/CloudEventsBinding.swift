// The CloudEvents MQTT protocol binding (cloudevents/spec, mqtt-protocol-binding.md), derived
// from the structured JSON an event is stored as. The offline buffer keeps (seq, topic,
// structured payload) rows whatever the mode, so a backlog written in one mode drains correctly
// in the other: binary mode splits the stored object at publish time.
//
//   structured   payload: the whole object; MQTT 5 Content Type `application/cloudevents+json`
//   binary       payload: `data` exactly as stored; Content Type: `datacontenttype`; every other
//                attribute (specversion, id, source, type, subject, time, seq, extensions) a
//                User Property named after it, its value as text (`"seq": 42` → seq=42)
//
// MQTT 3.1.1 has neither property: there only structured mode exists (the binding says so).

public enum CloudEventsBinding {
    public static let structuredContentType = "application/cloudevents+json"

    public struct Binary: Sendable, Equatable {
        /// The attributes in the order the object lists them, `datacontenttype` and `data` excepted.
        public var attributes: [UserProperty]
        public var contentType: String?
        public var data: [UInt8]
    }

    /// Splits a structured CloudEvent into the binary mode's parts; nil if `payload` is not a
    /// JSON object.
    public static func binary(_ payload: [UInt8]) -> Binary? {
        guard let members = topLevelMembers(payload) else { return nil }
        var attributes: [UserProperty] = []
        var contentType: String? = nil
        var data: [UInt8] = []
        for (key, raw) in members {
            switch key {
            case "data": data = Array(raw)
            case "datacontenttype": contentType = text(of: raw)
            default: attributes.append(UserProperty(name: key, value: text(of: raw)))
            }
        }
        return Binary(attributes: attributes, contentType: contentType, data: data)
    }

    /// The numbers among `data`'s members, each as written (`celsius` → `21.875`), in order.
    public static func numericDataFields(_ payload: [UInt8]) -> [(name: String, value: [UInt8])] {
        guard let members = topLevelMembers(payload), let data = members.first(where: { $0.key == "data" })?.value,
              let fields = topLevelMembers(Array(data)) else { return [] }
        return fields.compactMap { name, raw in
            guard let first = raw.first, first == UInt8(ascii: "-") || (48...57).contains(first) else { return nil }
            return (name, Array(raw))
        }
    }

    /// A raw JSON value as text: a string unescaped, anything else as written.
    static func text(of raw: ArraySlice<UInt8>) -> String {
        if raw.first == UInt8(ascii: "\""), case .string(let s)? = try? JSONParser.parse(Array(raw)) { return s }
        return String(decoding: raw, as: UTF8.self)
    }

    /// The members of a JSON object, each value's bytes exactly as written; nil if not an object.
    static func topLevelMembers(_ bytes: [UInt8]) -> [(key: String, value: ArraySlice<UInt8>)]? {
        var i = 0
        let n = bytes.count
        func skipSpace() { while i < n, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        /// Past a string starting at `i` (a quote); false if unterminated.
        func skipString() -> Bool {
            i += 1
            while i < n {
                if bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
                if bytes[i] == UInt8(ascii: "\"") { i += 1; return true }
                i += 1
            }
            return false
        }
        skipSpace()
        guard i < n, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var members: [(key: String, value: ArraySlice<UInt8>)] = []
        skipSpace()
        if i < n, bytes[i] == UInt8(ascii: "}") { return members }
        while i < n {
            skipSpace()
            guard i < n, bytes[i] == UInt8(ascii: "\"") else { return nil }
            let keyStart = i
            guard skipString() else { return nil }
            guard case .string(let key)? = try? JSONParser.parse(Array(bytes[keyStart..<i])) else { return nil }
            skipSpace()
            guard i < n, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            var depth = 0
            scan: while i < n {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return nil }
                    continue scan
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { break scan }
                    depth -= 1
                case UInt8(ascii: ","):
                    if depth == 0 { break scan }
                default: break
                }
                i += 1
            }
            var valueEnd = i
            while valueEnd > valueStart, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[valueEnd - 1]) { valueEnd -= 1 }
            guard i < n, valueEnd > valueStart else { return nil }
            members.append((key, bytes[valueStart..<valueEnd]))
            if bytes[i] == UInt8(ascii: "}") { return members }
            i += 1  // ','
        }
        return nil
    }
}

/// An MQTT 5 User Property.
public struct UserProperty: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
