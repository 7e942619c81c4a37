import Foundation
import Testing
@testable import SensorgateGateway

/// The Debian package `make deb` built (`make test-deb` names it in SENSORGATE_DEB; without it
/// these are skipped, because building it takes minutes): its name and fields, its file list,
/// lintian, its unit, its maintainer scripts, and the binary unpacked into a scratch root
/// (`dpkg-deb -x`, never installed here) running `--version`, `check` on the shipped config, and
/// a gateway.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SENSORGATE_DEB"] != nil, "set SENSORGATE_DEB (make test-deb)"))
struct PackageTests {
    static var deb: URL {
        let path = ProcessInfo.processInfo.environment["SENSORGATE_DEB"] ?? ""
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : TestPaths.packageRoot.appendingPathComponent(path)
    }

    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        try await UnitFileTests.run(tool, arguments, environment: environment)
    }

    /// The package unpacked into a fresh scratch root.
    static func unpacked() async throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        let (status, output) = try await run("/usr/bin/dpkg-deb", ["-x", deb.path, root.url.path])
        try #require(status == 0, "\(output)")
        return root
    }

    @Test func nameAndControlFields() async throws {
        let (_, arch) = try await Self.run("/usr/bin/dpkg", ["--print-architecture"])
        let architecture = arch.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.deb.lastPathComponent == "sensorgate_\(SensorgateVersion.current)_\(architecture).deb")
        let (status, fields) = try await Self.run("/usr/bin/dpkg-deb", ["-f", Self.deb.path, "Package", "Version", "Architecture", "Depends"])
        #expect(status == 0)
        let values = Dictionary(fields.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { $1 })
        #expect(values["Package"] == "sensorgate")
        #expect(values["Version"] == SensorgateVersion.current)
        #expect(values["Architecture"] == architecture)
        // libc, SQLite, libmosquitto, libyaml (the config reader), what the static Swift runtime
        // still links (libstdc++, libgcc_s), and adduser for the maintainer scripts: nothing of
        // Swift's own.
        let depends = Set((values["Depends"] ?? "").split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces).prefix { $0 != " " }) })
        #expect(depends == ["libc6", "libsqlite3-0", "libmosquitto1", "libyaml-0-2", "libstdc++6", "libgcc-s1", "adduser"], "\(values["Depends"] ?? "")")
        let (_, conffiles) = try await Self.run("/bin/sh", ["-c", "dpkg-deb --ctrl-tarfile '\(Self.deb.path)' | tar -xO ./conffiles"])
        #expect(conffiles == "/etc/sensorgate/sensorgate.yaml\n")
    }

    @Test func fileList() async throws {
        let (status, listing) = try await Self.run("/usr/bin/dpkg-deb", ["-c", Self.deb.path])
        #expect(status == 0)
        var files: [String: String] = [:]  // path → "mode owner"
        for line in listing.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 6, let path = parts.last, !path.hasSuffix("/") else { continue }
            files[String(path.dropFirst())] = "\(parts[0]) \(parts[1])"
        }
        let profiles = try FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot.appendingPathComponent("Devices").path)
            .filter { $0.hasSuffix(".yaml") }.map { "/usr/share/sensorgate/devices/\($0)" }
        let expected = Set(profiles + [
            "/usr/bin/sensorgate", "/etc/sensorgate/sensorgate.yaml", "/lib/systemd/system/sensorgate.service",
            "/lib/udev/rules.d/60-sensorgate-gpio.rules", "/usr/share/man/man1/sensorgate.1.gz",
            "/usr/share/bash-completion/completions/sensorgate", "/usr/share/zsh/vendor-completions/_sensorgate",
            "/usr/share/fish/vendor_completions.d/sensorgate.fish", "/usr/share/doc/sensorgate/copyright",
            "/usr/share/doc/sensorgate/changelog.gz", "/usr/share/doc/sensorgate/README.md", "/usr/share/doc/sensorgate/config-reference.md",
            "/usr/share/doc/sensorgate/profiles.md", "/usr/share/doc/sensorgate/example.yaml",
        ])
        #expect(Set(files.keys) == expected, "extra: \(Set(files.keys).subtracting(expected)), missing: \(expected.subtracting(files.keys))")
        #expect(profiles.count >= 10)
        #expect(files["/usr/bin/sensorgate"] == "-rwxr-xr-x root/root")
        #expect(files.values.allSatisfy { $0.hasSuffix("root/root") })
        #expect(files.filter { $0.key != "/usr/bin/sensorgate" }.values.allSatisfy { $0.hasPrefix("-rw-r--r--") })
        // Nothing in /var: the state directory is made by postinst and systemd, and stays on remove.
        #expect(!listing.contains("./var/"))
    }

    @Test func lintianFindsNoErrors() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/lintian"), "apt-get install lintian (make deps does)")
        let (status, output) = try await Self.run("/usr/bin/lintian", ["--fail-on", "error,warning", "--pedantic", Self.deb.path])
        let tags = output.split(separator: "\n").filter { $0.hasPrefix("E:") || $0.hasPrefix("W:") }
        #expect(status == 0 && tags.isEmpty, "\(output)")
    }

    @Test func theUnpackedBinaryRunsItsVersionAndCheckAndAGateway() async throws {
        let root = try await Self.unpacked()
        let binary = root.url.appendingPathComponent("usr/bin/sensorgate")
        let (versionStatus, version) = try await runSensorgate(["--version"], executable: binary)
        #expect(versionStatus == 0 && version == SensorgateVersion.current + "\n")

        // The shipped config, with its profiles found in the scratch root's usr/share (beside the binary).
        let config = root.url.appendingPathComponent("etc/sensorgate/sensorgate.yaml").path
        let (checkStatus, check) = try await runSensorgate(["check", "--config", config], executable: binary)
        #expect(checkStatus == 0, "\(check)")
        #expect(check.contains("OK: gateway 'sensorgate', 1 device, 0 rules, 0 thermostats, mqtt://127.0.0.1:1883"), "\(check)")

        // No Swift runtime from the toolchain: only system libraries.
        let (_, ldd) = try await Self.run("/usr/bin/ldd", [binary.path])
        #expect(!ldd.contains("libswift") && !ldd.contains("libFoundation") && !ldd.contains("/opt/") && !ldd.contains("not found"), "\(ldd)")

        let dir = try TemporaryDirectory()
        let gatewayConfig = try dir.write("gw.yaml", """
            gateway: { id: packaged, state_dir: ./state }
            devices:
              - { id: t, adapter: simulated, kind: temperature, interval: 20ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", gatewayConfig.path, "--log-level", "debug"], executable: binary)
        #expect(await gateway.waitFor { $0.contains("#5") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(gateway.output.contains("sensorgate \(SensorgateVersion.current): packaged running 1 device(s)"))
    }

    @Test func theShippedUnitVerifiesAndIsHardened() async throws {
        let root = try await Self.unpacked()
        let unit = root.url.appendingPathComponent("lib/systemd/system/sensorgate.service")
        #expect(try String(contentsOf: unit, encoding: .utf8) == String(contentsOf: UnitFileTests.unit, encoding: .utf8))
        let binary = root.url.appendingPathComponent("usr/bin/sensorgate").path
        // With `man` present, verify also finds the unit's Documentation=man:sensorgate(1) in the package.
        let man = FileManager.default.isExecutableFile(atPath: "/usr/bin/man") ? root.url.appendingPathComponent("usr/share/man").path : nil
        let (status, output) = try await UnitFileTests.verify(unit: unit, binary: binary, manPath: man)
        #expect(status == 0 && output.isEmpty, "\(output)")
        let (figure, line) = try await UnitFileTests.exposure(of: unit)
        #expect(figure <= 3.0, "\(line)")
    }

    @Test func theManualAndCompletionsAreWellFormed() async throws {
        let root = try await Self.unpacked()
        let page = root.url.appendingPathComponent("usr/share/man/man1/sensorgate.1.gz").path
        let (_, text) = try await Self.run("/bin/sh", ["-c", "gzip -dc '\(page)'"])
        #expect(text.hasPrefix(".\\\" \"Generated by swift-argument-parser\""))
        for command in ["Em run", "Em check", "Em rules", "Em buffer", "Em discover", "Fl -log-format", "Fl -summary-interval", "Fl -version", "/etc/sensorgate/sensorgate.yaml"] {
            #expect(text.contains(command), "the manual does not mention \(command)")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/man") {
            let (_, warnings) = try await Self.run("/bin/sh", ["-c", "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z '\(page)' >/dev/null"])
            #expect(warnings.isEmpty, "\(warnings)")
        }
        let bash = root.url.appendingPathComponent("usr/share/bash-completion/completions/sensorgate").path
        let (bashStatus, bashOutput) = try await Self.run("/bin/bash", ["-n", bash])
        #expect(bashStatus == 0, "\(bashOutput)")
        #expect(try String(contentsOfFile: bash, encoding: .utf8).contains("_sensorgate"))
    }

    /// postinst makes the user and its groups; postrm `remove` keeps the state, `purge` deletes
    /// it. Run with stubs on PATH (adduser, systemctl, …) that only record their arguments, and
    /// DPKG_ROOT pointing at a scratch tree, so this machine's users and services are untouched.
    @Test func maintainerScriptsMakeTheUserAndKeepTheStateUntilPurge() async throws {
        let root = try TemporaryDirectory()
        let control = root.url.appendingPathComponent("DEBIAN")
        let (status, output) = try await Self.run("/usr/bin/dpkg-deb", ["-e", Self.deb.path, control.path])
        try #require(status == 0, "\(output)")
        let stubs = root.url.appendingPathComponent("stubs")
        try FileManager.default.createDirectory(at: stubs, withIntermediateDirectories: true)
        let log = root.url.appendingPathComponent("calls.log").path
        for tool in ["adduser", "addgroup", "deb-systemd-helper", "deb-systemd-invoke", "systemctl", "udevadm", "chown"] {
            let stub = stubs.appendingPathComponent(tool)
            // deb-systemd-helper says "not enabled" to was-enabled (and fails the rest, which the scripts tolerate).
            let status = tool == "deb-systemd-helper" ? 1 : 0
            try "#!/bin/sh\necho \"\(tool) $*\" >> '\(log)'\nexit \(status)\n".write(to: stub, atomically: true, encoding: .utf8)
            chmod(stub.path, 0o755)
        }
        // getent: no gpio group, no sensorgate user yet (dialout exists).
        try "#!/bin/sh\n[ \"$1 $2\" = \"group dialout\" ] && exit 0\nexit 2\n".write(to: stubs.appendingPathComponent("getent"), atomically: true, encoding: .utf8)
        chmod(stubs.appendingPathComponent("getent").path, 0o755)
        let env = ["PATH": "\(stubs.path):/usr/bin:/bin", "DPKG_ROOT": root.url.path]
        for script in ["postinst", "prerm", "postrm"] {
            let (syntax, problem) = try await Self.run("/bin/sh", ["-n", control.appendingPathComponent(script).path])
            #expect(syntax == 0, "\(script): \(problem)")
        }

        let (installed, installOutput) = try await Self.run("/bin/sh", [control.appendingPathComponent("postinst").path, "configure"], environment: env)
        #expect(installed == 0, "\(installOutput)")
        let calls = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(calls.contains("addgroup --system --quiet gpio"))
        #expect(!calls.contains("addgroup --system --quiet dialout"))
        #expect(calls.contains("adduser --system --quiet --group --home /var/lib/sensorgate --no-create-home --shell /usr/sbin/nologin"))
        #expect(calls.contains("adduser --quiet sensorgate gpio") && calls.contains("adduser --quiet sensorgate dialout"))
        #expect(calls.contains("deb-systemd-helper update-state sensorgate.service"), "not enabled on a first install")
        #expect(!calls.contains("deb-systemd-helper enable"))
        let state = root.url.appendingPathComponent("var/lib/sensorgate")
        #expect(FileManager.default.fileExists(atPath: state.path))

        try "undelivered".write(to: state.appendingPathComponent("buffer.db"), atomically: true, encoding: .utf8)
        let (removed, _) = try await Self.run("/bin/sh", [control.appendingPathComponent("postrm").path, "remove"], environment: env)
        #expect(removed == 0)
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("buffer.db").path), "remove must keep the state")
        let (purged, _) = try await Self.run("/bin/sh", [control.appendingPathComponent("postrm").path, "purge"], environment: env)
        #expect(purged == 0)
        #expect(!FileManager.default.fileExists(atPath: state.path), "purge deletes the state")
    }
}
