import Foundation
import Testing

/// The status page in a real browser: Debian's chromium, headless, driven over the DevTools
/// protocol, against a running gateway. It must show every device, follow live values, fit a
/// phone's screen, and leave screenshots in var/ for people to look at.
// Skipped without chromium, except under CI (make test installs it there): a missing browser must
// not turn the page's test into a silent pass.
@Suite(.serialized, .enabled(if: HeadlessChromium.isInstalled || ProcessInfo.processInfo.environment["CI"] == "true",
                             "needs Debian's chromium (make test installs it)"))
struct StatusPageTests {
    @Test func thePageShowsEachDeviceAndFollowsLiveValuesOnAPhone() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let config = try ObservabilityTests.config(dir, broker: broker.port, http: http, extraHTTP: "token: page-token-0123456789")
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await gateway.waitFor { $0.contains("serving /metrics") })

        let browser = try HeadlessChromium()
        try await browser.open("http://127.0.0.1:\(http)/?token=page-token-0123456789", width: 390, height: 844, mobile: true)
        #expect(try await browser.waitUntil("document.getElementById('live').textContent === 'live'"))
        #expect(try await browser.waitUntil("document.querySelectorAll('[data-device]').length === 3"))
        let ids = try await browser.evaluate("[...document.querySelectorAll('[data-device]')].map(c => c.dataset.device).join(',')") as? String
        #expect(ids == "living,flaky,hall")

        // A value changes on the page without a reload (the SSE stream), twice over.
        let living = "document.querySelector('[data-device=\"living\"]')"
        let firstValue = try await browser.evaluate("\(living).querySelector('.value').textContent") as? String
        #expect(firstValue?.hasSuffix("°C") == true, "\(firstValue ?? "nil")")
        #expect(try await browser.waitUntil("+\(living).dataset.updates >= 3"))
        // (Waited for: on a loaded machine several updates may carry the same reading.)
        #expect(try await browser.waitUntil("\(living).querySelector('.value').textContent !== '\(firstValue ?? "")'"))
        #expect(try await browser.waitUntil("\(living).querySelector('svg.spark').childElementCount > 0"))
        #expect(try await browser.waitUntil("document.querySelector('[data-thermostat=\"heater\"]') !== null"))
        #expect(try await browser.waitUntil("document.getElementById('alerts').textContent.includes('flaky-seen')"))
        #expect(try await browser.waitUntil("document.getElementById('health').textContent === 'healthy'"))
        // Readable on a phone: nothing wider than the screen.
        #expect(try await browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") as? Bool == true)

        let shots = TestPaths.packageRoot.appendingPathComponent("var")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try await browser.screenshot(to: shots.appendingPathComponent("status-page-phone.png").path)
        try await browser.resize(width: 1200, height: 900, mobile: false)
        await pause(1.2)
        try await browser.screenshot(to: shots.appendingPathComponent("status-page.png").path)
        let png = try Data(contentsOf: shots.appendingPathComponent("status-page.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)

        // The broker goes: the page says so within a few seconds, without a reload.
        broker.stop()
        #expect(try await browser.waitUntil("document.querySelector('#uplink [data-k=\"state\"]').textContent.startsWith('down')"))
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        // The gateway gone, the page says it is reconnecting.
        #expect(try await browser.waitUntil("document.getElementById('live').textContent === 'reconnecting'"))
    }
}
