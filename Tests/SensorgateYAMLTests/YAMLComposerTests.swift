import Testing
import SensorgateYAML

/// The composer on its own: the tree, every node's position, the rules Yams had (which the
/// config golden files record), and the bounds on aliases.
@Suite struct YAMLComposerTests {
    func compose(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> YAMLNode {
        try #require(try YAMLComposer.compose(text, limits: limits))
    }

    func failure(_ text: String, limits: YAMLLimits = YAMLLimits()) -> YAMLComposeError? {
        do throws(YAMLComposeError) {
            _ = try YAMLComposer.compose(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func scalarsSequencesAndMappingsWithTheirPositions() throws {
        let root = try compose("""
            gateway:
              id: pi
            devices:
              - { id: cpu, interval: 5s }
              - 'quoted'
            note: |
              text
            """)
        guard case .mapping(let top) = root.content else { Issue.record("not a mapping"); return }
        #expect(top.map { $0.key.scalar?.string } == ["gateway", "devices", "note"])
        #expect(top.map { $0.key.mark } == [YAMLMark(line: 1, column: 1), YAMLMark(line: 3, column: 1), YAMLMark(line: 6, column: 1)])
        #expect(root["gateway"]?["id"]?.scalar == YAMLScalar("pi"))
        #expect(root["gateway"]?["id"]?.mark == YAMLMark(line: 2, column: 7))
        guard case .sequence(let devices)? = root["devices"]?.content else { Issue.record("not a list"); return }
        #expect(devices[0].mark == YAMLMark(line: 4, column: 5))
        #expect(devices[0]["interval"]?.mark == YAMLMark(line: 4, column: 26))
        #expect(devices[1].scalar?.style == .singleQuoted)
        #expect(devices[1].scalar?.tag == "tag:yaml.org,2002:str")
        #expect(root["note"]?.scalar == YAMLScalar("text", style: .literal, tag: "tag:yaml.org,2002:str"))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let root = try compose("message: \"°C °C\"\nnext: 1\n")
        #expect(root["message"]?.scalar?.string == "°C °C")
        let flow = try compose("{ é: 1, b: 2 }")
        #expect(flow["b"]?.mark == YAMLMark(line: 1, column: 12))
    }

    @Test func emptyTextAndCommentsHoldNoDocument() throws {
        #expect(try YAMLComposer.compose("") == nil)
        #expect(try YAMLComposer.compose("# only a comment\n\n") == nil)
        #expect(try compose("---\n").scalar == YAMLScalar(""))
    }

    @Test func anAliasIsItsAnchorsNodeWithTheAnchorsPosition() throws {
        let root = try compose("""
            defaults: &d { interval: 5s }
            a: *d
            b: [*d, *d]
            """)
        #expect(root["a"]?["interval"]?.scalar?.string == "5s")
        #expect(root["a"]?.mark == YAMLMark(line: 1, column: 11))  // a node with an anchor starts at the anchor
        #expect(root["a"]?["interval"]?.mark == YAMLMark(line: 1, column: 26))
    }

    @Test func aLaterAnchorShadowsAnEarlierOne() throws {
        let root = try compose("a: &x 1\nb: &x 2\nc: *x\n")
        #expect(root["c"]?.scalar?.string == "2")
    }

    @Test func anAnchorIsUsableOnlyAfterItsNodeEnds() {
        #expect(failure("a: &x [1, *x]\n") == .syntax(problem: "found undefined alias", context: nil, at: YAMLMark(line: 1, column: 11)))
        #expect(failure("a: *nothing\n") == .syntax(problem: "found undefined alias", context: nil, at: YAMLMark(line: 1, column: 4)))
    }

    @Test func syntaxErrorsCarryLibyamlsWordsAndPosition() {
        #expect(failure("a:\n  b: c: d\n") == .syntax(problem: "mapping values are not allowed in this context", context: nil,
                                                       at: YAMLMark(line: 2, column: 7)))
        #expect(failure("a: [1, 2\n") == .syntax(problem: "did not find expected ',' or ']'", context: "while parsing a flow sequence",
                                                  at: YAMLMark(line: 2, column: 1)))
        #expect(failure("a: 1\n---\nb: 2\n") == .syntax(problem: "but found another document",
                                                        context: "expected a single document in the stream", at: YAMLMark(line: 2, column: 1)))
        #expect(failure("a: \u{7}\n") == .reader(problem: "control characters are not allowed"))
    }

    @Test func duplicateKeysAreReportedAtTheFirstOccurrence() {
        #expect(failure("x: 0\nb: 1\na: 2\nb: 3\na: 4\n") == .duplicateKeys(["a", "b"], at: YAMLMark(line: 3, column: 1)))
        #expect(failure("a: 1\n'a': 2\n") == .duplicateKeys(["a"], at: YAMLMark(line: 1, column: 1)))
        // A plain 1 is an int and "1" a string: two different keys, as in Yams.
        #expect(failure("1: a\n\"1\": b\n") == nil)
        #expect(failure("on: a\n'on': b\n") == nil)
        #expect(failure("{ a: 1, b: { a: 2 } }") == nil)
    }

    @Test func mergeKeysStayKeysForTheReaderToApply() throws {
        let root = try compose("base: &b { x: 1 }\nitem: { <<: *b, y: 2 }\n")
        guard case .mapping(let pairs)? = root["item"]?.content else { Issue.record("not a mapping"); return }
        #expect(pairs.map { $0.key.scalar?.string } == ["<<", "y"])
        #expect(pairs[0].value["x"]?.scalar?.string == "1")
    }

    /// Each level aliases the one before nine times: 9^depth nodes from a few hundred bytes.
    static func mergeBomb(depth: Int) -> String {
        var text = "l0: &l0 { k: v }\n"
        for level in 1...depth {
            text += "l\(level): &l\(level) { <<: [\(Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", "))] }\n"
        }
        return text
    }

    @Test func anAliasBombIsRefusedAtTheAliasThatCrossedTheBound() {
        let limits = YAMLLimits(aliasedNodes: 10_000)
        guard case .aliasExpansion(10_000, let mark)? = failure(Self.mergeBomb(depth: 20), limits: limits) else {
            Issue.record("the bomb was accepted"); return
        }
        // l4 reaches 9 × l3 (9 × 9 × 9 × 5 nodes each): the bound falls inside line 5.
        #expect(mark.line == 5)
        #expect(failure(Self.mergeBomb(depth: 3), limits: limits) == nil)
    }

    @Test func aliasesAsKeysAreBoundedToo() {
        var text = "k0: &k0 [a, b, c, d, e, f, g, h, i]\n"
        for level in 1...30 {
            text += "k\(level): &k\(level)\n"
            for j in 0..<9 { text += "    ? [*k\(level - 1), \(j)]\n    : \(j)\n" }
        }
        #expect(failure(text) == .aliasExpansion(limit: 10_000, at: YAMLMark(line: 57, column: 8)))
    }

    @Test func comparingLargeEqualKeysStaysCheap() {
        // Two aliases of one 4,990-item list as keys: resolving each item's type by regex took 26 s.
        let text = "a: &a [" + Array(repeating: "x", count: 4_990).joined(separator: ", ") + "]\nb: { ? *a : 1, ? *a : 2 }\n"
        let start = ContinuousClock.now
        #expect(failure(text) == .duplicateKeys(["<uncovertable>"], at: YAMLMark(line: 1, column: 4)))
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func equalListsAsKeysAreDuplicates() {
        #expect(failure("a: &a [1]\nb:\n  ? *a\n  : 1\n  ? [1]\n  : 2\n") == .duplicateKeys(["<uncovertable>"], at: YAMLMark(line: 1, column: 4)))
    }

    @Test func nestingIsBoundedWrittenOrThroughAliases() {
        let deep = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(failure(deep) == .nesting(limit: 100, at: YAMLMark(line: 1, column: 101)))
        #expect(failure(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) == nil)
        let viaAlias = "a: &a " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
            + "\nb: " + String(repeating: "[", count: 40) + "*a" + String(repeating: "]", count: 40) + "\n"
        #expect(failure(viaAlias) == .nesting(limit: 100, at: YAMLMark(line: 2, column: 44)))
    }
}
