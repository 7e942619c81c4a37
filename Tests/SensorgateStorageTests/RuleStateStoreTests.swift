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
        let t: Int64 = 1_795_694_400_000  // 2026-11-26T12:00:00Z
        let saved = RuleStateStore.Saved(json: "{}", wallMilliseconds: t, bootMilliseconds: 5_000, bootID: "boot-1")
        // Same boot: the boot clock, whatever the wall clock did (NTP stepped it back an hour).
        #expect(saved.elapsed(nowWall: t - 3_600_000, nowBoot: 8_000, bootID: "boot-1") == 3_000)
        // Rebooted: the boot clock restarted, so the wall clock is all there is.
        #expect(saved.elapsed(nowWall: t + 60_000, nowBoot: 1_000, bootID: "boot-2") == 60_000)
        // A board without an RTC that booted in the past (1970): never a negative downtime.
        #expect(saved.elapsed(nowWall: 0, nowBoot: 1_000, bootID: "boot-2") == 0)
        // No boot id to compare (unreadable /proc): the wall clock.
        let unknown = RuleStateStore.Saved(json: "{}", wallMilliseconds: t, bootMilliseconds: 5_000, bootID: "")
        #expect(unknown.elapsed(nowWall: t + 2_000, nowBoot: 9_000, bootID: "") == 2_000)
    }

    /// Damaged state with a nonsense save time ("restored, saved 125824951038s ago") counts no
    /// downtime instead of an absurd one.
    @Test func anImplausibleSaveTimeCountsNoDowntime() {
        let now: Int64 = 1_795_694_400_000
        #expect(RuleStateStore.Saved(json: "{}", wallMilliseconds: 12, bootMilliseconds: 5, bootID: "x")
            .elapsed(nowWall: now, nowBoot: 1, bootID: "y") == nil)
        #expect(RuleStateStore.Saved(json: "{}", wallMilliseconds: now - 11 * 365 * 86_400_000, bootMilliseconds: 5, bootID: "x")
            .elapsed(nowWall: now, nowBoot: 1, bootID: "y") == nil)
    }
}
