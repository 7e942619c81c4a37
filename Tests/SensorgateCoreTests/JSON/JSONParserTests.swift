import Testing
@testable import SensorgateCore

@Suite struct JSONParserTests {
    @Test func parsesAllValueKinds() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e2, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
        #expect(value["a"] == .array([.number(1), .number(-250), .bool(true), .bool(false), .null]))
        #expect(value.value(atPath: ["b", "c"]) == .string("d\né😀"))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":}", "01x", "\"unterminated", "tru", "{\"a\":1}x", "[\"\u{01}\"]", "1e999"])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = JSONWriter()
        let tricky = "quote\" backslash\\ newline\n tab\t bell\u{07} é"
        w.string(tricky)
        #expect(try JSONParser.parse(w.string) == .string(tricky))
        #expect(JSONWriter.number(21) == "21")
        #expect(JSONWriter.number(21.5) == "21.5")
        #expect(JSONWriter.number(.nan) == "null")
    }
}
