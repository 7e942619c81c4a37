import Testing
import SensorgateCore

/// What a consumer may ask, and the words it gets back when the request is wrong.
@Suite struct ReplayRequestTests {
    static func parse(_ text: String) -> ReplayRequest.Parsed { ReplayRequest.parse(Array(text.utf8)) }

    static let t0 = Timestamp(rfc3339: "2026-11-26T00:00:00Z")!.millisecondsSinceEpoch
    static let t1 = Timestamp(rfc3339: "2026-11-27T00:00:00Z")!.millisecondsSinceEpoch

    @Test(arguments: [
        (#"{"id":"r1","from_seq":100,"to_seq":200}"#, ReplayRequest(id: "r1", query: ReplayQuery(fromSeq: 100, toSeq: 200))),
        (#"{"id":"gap.2-x_y","from_seq":5}"#, ReplayRequest(id: "gap.2-x_y", query: ReplayQuery(fromSeq: 5))),
        (#"{"id":"d","since":"2026-11-26T00:00:00Z","until":"2026-11-27T00:00:00Z","type":"TemperatureReading","subject":"cpu"}"#,
         ReplayRequest(id: "d", query: ReplayQuery(since: t0, until: t1, type: "TemperatureReading", subject: "cpu"))),
        (#"{"id":"e","since":"2026-11-26T01:00:00+01:00"}"#, ReplayRequest(id: "e", query: ReplayQuery(since: t0))),
        (#"{"id":"one","from_seq":7,"to_seq":7}"#, ReplayRequest(id: "one", query: ReplayQuery(fromSeq: 7, toSeq: 7))),
    ])
    func validRequests(text: String, expected: ReplayRequest) {
        #expect(Self.parse(text) == .request(expected))
    }

    @Test(arguments: [
        ("garbage", nil, "the request is not JSON"),
        ("[1,2]", nil, "must be a JSON object"),
        (#"{"from_seq":1}"#, nil, "has no 'id'"),
        (#"{"id":"a/b","from_seq":1}"#, nil, "'id' must be 1 to 64 letters"),
        (#"{"id":"_x","from_seq":1}"#, nil, "starting with a letter or digit"),
        (#"{"id":"","from_seq":1}"#, nil, "'id' must be"),
        (#"{"id":7,"from_seq":1}"#, nil, "'id' must be"),
        (#"{"id":"r","from":1}"#, "r", "unknown key 'from'"),
        (#"{"id":"r","from_sq":1}"#, "r", "did you mean 'from_seq'?"),
        (#"{"id":"r"}"#, "r", "say what to replay"),
        (#"{"id":"r","from_seq":0}"#, "r", "'from_seq' must be a whole number of at least 1, got 0"),
        (#"{"id":"r","from_seq":1.5}"#, "r", "'from_seq' must be a whole number"),
        (#"{"id":"r","from_seq":"5"}"#, "r", "'from_seq' must be a whole number"),
        (#"{"id":"r","from_seq":9,"to_seq":3}"#, "r", "'to_seq' (3) is below 'from_seq' (9)"),
        (#"{"id":"r","to_seq":3}"#, "r", "'to_seq' needs a 'from_seq'"),
        (#"{"id":"r","until":"2026-11-26T00:00:00Z"}"#, "r", "'until' needs a 'since'"),
        (#"{"id":"r","since":"yesterday"}"#, "r", "'since' must be an RFC 3339 time"),
        (#"{"id":"r","since":"2026-11-27T00:00:00Z","until":"2026-11-26T00:00:00Z"}"#, "r", "'until' must be after 'since'"),
        (#"{"id":"r","from_seq":1,"since":"2026-11-27T00:00:00Z"}"#, "r", "not both"),
        (#"{"id":"r","from_seq":1,"type":"Temperature"}"#, "r", "'type' must be one of TemperatureReading"),
        (#"{"id":"r","from_seq":1,"subject":""}"#, "r", "'subject' must be"),
    ] as [(String, String?, String)])
    func refusalsSayWhatToChange(text: String, id: String?, words: String) {
        guard case .refused(let gotID, let reason) = Self.parse(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(gotID == id)
        #expect(reason.contains(words), "\(reason)")
    }

    @Test func anOversizedRequestIsRefusedUnread() {
        let big = Array(#"{"id":"r","from_seq":1,"subject":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 5_000) + Array(#""}"#.utf8)
        guard case .refused(nil, let reason) = ReplayRequest.parse(big) else { Issue.record("accepted"); return }
        #expect(reason.contains("at most 4096 are read"))
    }

    @Test func idsAreOneTopicLevel() {
        #expect(ReplayRequest.isValidID("a"))
        #expect(ReplayRequest.isValidID(String(repeating: "a", count: 64)))
        #expect(!ReplayRequest.isValidID(String(repeating: "a", count: 65)))
        for bad in ["a b", "a+b", "a#", "a/b", "-a", ".a", "é"] { #expect(!ReplayRequest.isValidID(bad), "\(bad)") }
    }

    @Test func taggingAddsOnlyTheExtension() {
        let original = Array(#"{"specversion":"1.0","seq":5,"data":{"celsius":1}}"#.utf8)
        let tagged = ReplayTopics.tagged(original, id: "r1")
        #expect(String(decoding: tagged, as: UTF8.self) == #"{"specversion":"1.0","seq":5,"data":{"celsius":1},"replay":"r1"}"#)
        let back = String(decoding: tagged, as: UTF8.self).split(separator: #","replay":"r1""#).joined()
        #expect(Array(back.utf8) == original)
        #expect(ReplayTopics.tagged(Array("not json".utf8), id: "r") == Array("not json".utf8))
    }
}

@Suite struct TokenBucketTests {
    @Test func paysOutAtTheRateWithABurst() {
        var bucket = TokenBucket(rate: 100, burst: 10)
        #expect(bucket.available(at: 0) == 10)
        bucket.take(10, at: 0)
        #expect(bucket.available(at: 0) == 0)
        #expect(bucket.nextToken(at: 0) == 10)
        #expect(bucket.available(at: 55) == 5)
        #expect(bucket.available(at: 10_000) == 10)  // never more than the burst
        bucket.take(10, at: 10_000)
        // Over a second, exactly the rate.
        var taken = 0
        for t in stride(from: Int64(10_001), through: 11_000, by: 1) {
            let n = bucket.available(at: t)
            bucket.take(n, at: t)
            taken += n
        }
        #expect(taken == 100)
    }
}
