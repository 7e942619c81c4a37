// A replay request as a consumer publishes it to `{prefix}/{gateway}/replay/request`:
//
//     {"id": "gap-1", "from_seq": 100, "to_seq": 200}
//     {"id": "day", "since": "2026-11-26T00:00:00Z", "until": "2026-11-27T00:00:00Z", "type": "TemperatureReading", "subject": "cpu"}
//
// `id` names the answer's topics, so it is one topic level: letters, digits, `_`, `.`, `-`, at
// most 64, starting with a letter or digit. Either `from_seq` (optional `to_seq`, inclusive) or
// `since` (optional `until`, exclusive), RFC 3339; optional `type` and `subject` filters. Every
// problem is refused with a sentence saying what to change.

/// What a replay asks for: a seq range or a time window, and filters.
public struct ReplayQuery: Sendable, Equatable {
    public var fromSeq: UInt64?
    public var toSeq: UInt64?
    /// Milliseconds since the epoch: `since` <= time < `until`.
    public var since: Int64?
    public var until: Int64?
    public var type: String?
    public var subject: String?

    public init(fromSeq: UInt64? = nil, toSeq: UInt64? = nil, since: Int64? = nil, until: Int64? = nil, type: String? = nil,
                subject: String? = nil) {
        self.fromSeq = fromSeq
        self.toSeq = toSeq
        self.since = since
        self.until = until
        self.type = type
        self.subject = subject
    }

    public var isTimeWindow: Bool { fromSeq == nil }
    public var isFiltered: Bool { type != nil || subject != nil }

    /// The request as the `done` message repeats it.
    public var document: JSONDocument {
        var members: [(String, JSONDocument)] = []
        if let fromSeq { members.append(("from_seq", .number(Double(fromSeq)))) }
        if let toSeq { members.append(("to_seq", .number(Double(toSeq)))) }
        if let since { members.append(("since", .string(Timestamp(millisecondsSinceEpoch: since).rfc3339))) }
        if let until { members.append(("until", .string(Timestamp(millisecondsSinceEpoch: until).rfc3339))) }
        if let type { members.append(("type", .string(type))) }
        if let subject { members.append(("subject", .string(subject))) }
        return .object(members)
    }
}

public struct ReplayRequest: Sendable, Equatable {
    public var id: String
    public var query: ReplayQuery

    public init(id: String, query: ReplayQuery) {
        self.id = id
        self.query = query
    }

    public enum Parsed: Sendable, Equatable {
        case request(ReplayRequest)
        /// `id` is nil when the request had no usable one (the answer then goes to `_invalid`).
        case refused(id: String?, reason: String)
    }

    public static let keys = ["id", "from_seq", "to_seq", "since", "until", "type", "subject"]

    /// Whether `id` can name the answer's topics.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count), isIDByte(bytes[0]), bytes[0] != UInt8(ascii: "_"), bytes[0] != UInt8(ascii: "."),
              bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy(isIDByte)
    }

    private static func isIDByte(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: ".")
    }

    public static func parse(_ payload: [UInt8], maxBytes: Int = 4_096) -> Parsed {
        guard payload.count <= maxBytes else {
            return .refused(id: nil, reason: "the request is \(payload.count) bytes; at most \(maxBytes) are read")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(payload) } catch {
            return .refused(id: nil, reason: "the request is not JSON (\(error)); send an object such as {\"id\": \"r1\", \"from_seq\": 100, \"to_seq\": 200}")
        }
        guard case .object(let members) = json else {
            return .refused(id: nil, reason: "the request must be a JSON object such as {\"id\": \"r1\", \"from_seq\": 100, \"to_seq\": 200}, got \(json.summary)")
        }
        guard let idValue = members["id"] else { return .refused(id: nil, reason: "the request has no 'id' (it names the topics of the answer)") }
        guard let id = idValue.stringValue, isValidID(id) else {
            return .refused(id: nil, reason: "'id' must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (it is a topic level), got \(idValue.summary)")
        }
        func refuse(_ reason: String) -> Parsed { .refused(id: id, reason: reason) }
        if let unknown = members.keys.sorted().first(where: { !keys.contains($0) }) {
            let hint = Suggestion.didYouMean(unknown, among: keys)
            return refuse("unknown key '\(unknown)'\(hint) (a request has \(keys.joined(separator: ", ")))")
        }
        var query = ReplayQuery()
        func seq(_ key: String) -> (UInt64?, String?) {
            guard let value = members[key] else { return (nil, nil) }
            guard let n = value.doubleValue, n >= 1, n == n.rounded(), n < 9e15 else {
                return (nil, "'\(key)' must be a whole number of at least 1, got \(value.summary)")
            }
            return (UInt64(n), nil)
        }
        func time(_ key: String) -> (Int64?, String?) {
            guard let value = members[key] else { return (nil, nil) }
            guard let text = value.stringValue, let t = Timestamp(rfc3339: text) else {
                return (nil, "'\(key)' must be an RFC 3339 time such as 2026-11-26T18:00:00Z, got \(value.summary)")
            }
            return (t.millisecondsSinceEpoch, nil)
        }
        let (from, fromError) = seq("from_seq"), (to, toError) = seq("to_seq")
        let (since, sinceError) = time("since"), (until, untilError) = time("until")
        if let problem = fromError ?? toError ?? sinceError ?? untilError { return refuse(problem) }
        let bySeq = members["from_seq"] != nil || members["to_seq"] != nil
        let byTime = members["since"] != nil || members["until"] != nil
        if bySeq, byTime { return refuse("give either 'from_seq' (and 'to_seq') or 'since' (and 'until'), not both") }
        if bySeq {
            guard let from else { return refuse("'to_seq' needs a 'from_seq'") }
            if let to, to < from { return refuse("'to_seq' (\(to)) is below 'from_seq' (\(from))") }
            (query.fromSeq, query.toSeq) = (from, to)
        } else if byTime {
            guard let since else { return refuse("'until' needs a 'since'") }
            if let until, until <= since { return refuse("'until' must be after 'since'") }
            (query.since, query.until) = (since, until)
        } else {
            return refuse("say what to replay: 'from_seq' (and optionally 'to_seq'), or 'since' (and optionally 'until')")
        }
        if let value = members["type"] {
            guard let type = value.stringValue, EventType(rawValue: type) != nil else {
                return refuse("'type' must be one of \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), got \(value.summary)")
            }
            query.type = type
        }
        if let value = members["subject"] {
            guard let subject = value.stringValue, !subject.isEmpty else { return refuse("'subject' must be a device, rule or thermostat name, got \(value.summary)") }
            query.subject = subject
        }
        return .request(ReplayRequest(id: id, query: query))
    }
}
