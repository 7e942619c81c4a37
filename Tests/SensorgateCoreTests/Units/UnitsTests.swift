import Testing
@testable import SensorgateCore

@Suite struct UnitsTests {
    @Test(arguments: [("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1h30m", 5_400_000),
                      ("1.5s", 1500), ("1d", 86_400_000), ("0s", 0)])
    func durations(_ text: String, _ ms: Int64) {
        #expect(DurationText.parse(text)?.milliseconds == ms)
    }

    @Test(arguments: ["", "five", "5", "5 s", "-5s", "5sec", "s", "1e99h"])
    func badDurations(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func formatsDurations() {
        #expect(DurationText.format(.seconds(7200)) == "2h")
        #expect(DurationText.format(.seconds(90)) == "90s")
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
    }

    @Test(arguments: [("512KB", 524_288), ("256MB", 268_435_456), ("1GB", 1_073_741_824), ("64KiB", 65536),
                      ("100", 100), ("100B", 100), ("1.5 MB", 1_572_864)])
    func sizes(_ text: String, _ bytes: Int64) {
        #expect(ByteSizeText.parse(text) == bytes)
    }

    @Test(arguments: ["", "lots", "5TB", "MB", "-1MB"])
    func badSizes(_ text: String) {
        #expect(ByteSizeText.parse(text) == nil)
    }
}
