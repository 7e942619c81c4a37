import Foundation
import Testing
@testable import SensorgateStorage

/// Rule state in a real SQLite file, and how long ago it was saved across a restart or a reboot.
@Suite struct RuleStateStoreTests {
    @Test func savesAndLoadsTheLatestState() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).db").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let store = try RuleStateStore(database: try SQLiteDatabase(path: path))
            #expect(try store.load() == nil)
            try store.save(.init(json: "{\"version\":1}", wallMilliseconds: 1_000, bootMilliseconds: 50, bootID: "a"))
            try store.save(.init(json: "{\"version\":1,\"x\":2}", wallMilliseconds: 2_000, bootMilliseconds: 60, bootID: "a"))
        }
        let reopened = try RuleStateStore(database: try SQLiteDatabase(path: path))
        #expect(try reopened.load() == .init(json: "{\"version\":1,\"x\":2}", wallMilliseconds: 2_000, bootMilliseconds: 60, bootID: "a"))
    }

    @Test func elapsedUsesTheBootClockWithinABootAndTheWallClockAcrossReboots() {
        let saved = RuleStateStore.Saved(json: "{}", wallMilliseconds: 10_000, bootMilliseconds: 5_000, bootID: "boot-1")
        // Same boot: the boot clock, whatever the wall clock did (NTP stepped it back an hour).
        #expect(saved.elapsed(nowWall: 10_000 - 3_600_000, nowBoot: 8_000, bootID: "boot-1") == 3_000)
        // Rebooted: the boot clock restarted, so the wall clock is all there is.
        #expect(saved.elapsed(nowWall: 70_000, nowBoot: 1_000, bootID: "boot-2") == 60_000)
        // A board without an RTC that booted in the past: never a negative downtime.
        #expect(saved.elapsed(nowWall: 0, nowBoot: 1_000, bootID: "boot-2") == 0)
        // No boot id to compare (unreadable /proc): the wall clock.
        let unknown = RuleStateStore.Saved(json: "{}", wallMilliseconds: 10_000, bootMilliseconds: 5_000, bootID: "")
        #expect(unknown.elapsed(nowWall: 12_000, nowBoot: 9_000, bootID: "") == 2_000)
    }
}
