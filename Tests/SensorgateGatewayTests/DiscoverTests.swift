import Foundation
import Testing
import SensorgateCore
@testable import SensorgateGateway

/// `sensorgate discover` on a fixture tree shaped like a Raspberry Pi's /sys.
@Suite struct DiscoverTests {
    static let sys = TestPaths.packageRoot.appendingPathComponent("Tests/SensorgateAdaptersTests/Fixtures/sys").path

    @Test func findsEverySensorKindWithTheRightProfile() async throws {
        let (status, output) = try await runSensorgate(["discover", "--sysfs-root", Self.sys])
        #expect(status == 0)
        let expected = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("discover/pi-fixture.expected"), encoding: .utf8)
        #expect(output.replacingOccurrences(of: Self.sys, with: "$SYS") == expected)
    }

    @Test func theBlockIsAValidConfigOnceLinesAreChosen() async throws {
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let block = Discovery.render(Discovery.scan(sys: Self.sys))
        let config = try dir.write("discovered.yaml", """
            gateway: { id: pi, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            \(block)
            """)
        let result = ConfigFile.load(path: config.path, environment: [:])
        #expect(result.diagnostics.map(\.description) == [])
        #expect(result.config?.devices.map(\.id) == ["cpu", "jc42-temp1", "sht3x-temp1", "sht3x-humidity1", "ds18b20-5aff", "ds18b20-d3ff", "bme280", "tmp117-temp",
                                                     "serial-ttyacm0", "serial-ttyusb0"])
    }

    @Test func anEmptyTreeSaysSo() async throws {
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        #expect(Discovery.render(Discovery.scan(sys: dir.url.path)) == "# no sensors, GPIO chips or serial ports found\ndevices: []\n")
    }
}
