// Where replays go and how a replayed event is marked: the same CloudEvent, byte for byte, with
// the extension attribute `"replay":"<request id>"` added before its closing brace, so removing
// `,"replay":"<id>"` gives back exactly what was published the first time.

public enum ReplayTopics {
    /// `{prefix}/{gateway}/replay/request`
    public static func request(base: String) -> String { "\(base)/replay/request" }
    /// `{prefix}/{gateway}/replay/{id}/{type}/{subject}`
    public static func event(base: String, id: String, type: String, subject: String) -> String {
        "\(base)/replay/\(id)/\(type)/\(subject)"
    }
    /// `{prefix}/{gateway}/replay/{id}/done`
    public static func done(base: String, id: String) -> String { "\(base)/replay/\(id)/done" }
    /// Where a request without a usable id is answered: never a valid id (ids start with a
    /// letter or digit).
    public static let invalidID = "_invalid"

    /// The stored CloudEvent with `"replay":"<id>"` added (ids need no escaping).
    public static func tagged(_ payload: [UInt8], id: String) -> [UInt8] {
        var end = payload.count
        while end > 0, payload[end - 1] == 0x20 || payload[end - 1] == 0x0A || payload[end - 1] == 0x0D || payload[end - 1] == 0x09 { end -= 1 }
        guard end >= 2, payload[end - 1] == UInt8(ascii: "}") else { return payload }
        var out = [UInt8]()
        out.reserveCapacity(payload.count + id.utf8.count + 12)
        out.append(contentsOf: payload[..<(end - 1)])
        out.append(contentsOf: ",\"replay\":\"".utf8)
        out.append(contentsOf: id.utf8)
        out.append(contentsOf: "\"}".utf8)
        return out
    }
}
