import Testing
@testable import SensorgateAdapters

@Suite struct LineFramerTests {
    func frame(_ chunks: [String], max: Int = 64) -> [LineFramer.Item] {
        var framer = LineFramer(maxLength: max)
        return chunks.flatMap { framer.feed(Array($0.utf8)) }
    }

    @Test func crLfAndCrlfEndLinesEvenWhenSplitAcrossReads() {
        #expect(frame(["T=1\nT=2\rT=3\r\n"]) == [.line("T=1"), .line("T=2"), .line("T=3")])
        #expect(frame(["T=21", ".5\r", "\nT=22.0\r\n"]) == [.line("T=21.5"), .line("T=22.0")])
        #expect(frame(["\r\n\r\n\n", "T=1"]) == [])  // blank lines are nothing; an unfinished line waits
    }

    @Test func overlongLinesAreReportedOnceAndSkippedToTheirEnd() {
        let long = String(repeating: "x", count: 100)
        #expect(frame(["T=1\n" + long, long + "\nT=2\n"], max: 64) == [.line("T=1"), .overlong(200), .line("T=2")])
        #expect(frame([String(repeating: "y", count: 64) + "\n"], max: 64) == [.line(String(repeating: "y", count: 64))])
    }

    @Test func bytesThatAreNotTextAreGarbage() {
        var framer = LineFramer(maxLength: 64)
        #expect(framer.feed([0xFF, 0xFE, 0x54, 0x0A]) == [.garbage(3)])
        #expect(framer.feed([0x54, 0x00, 0x31, 0x0A]) == [.garbage(3)])
        #expect(framer.feed(Array("T=°C\t1\n".utf8)) == [.line("T=°C\t1")])
    }
}
