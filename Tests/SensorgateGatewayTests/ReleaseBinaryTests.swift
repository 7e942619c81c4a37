import Foundation
import Testing

/// Issue 14: the gateway carries neither full Foundation nor ICU (about 8 MB of resident pages
/// before it does anything). Checked on the binary next to the tests and, under `make test`, on
/// the release binary it ships (SENSORGATE_RELEASE_BINARY, statically linked Swift runtime).
@Suite struct ReleaseBinaryTests {
    static let forbiddenLibraries = ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"]

    static var binaries: [String] {
        var paths = [TestPaths.binary.path]
        if let release = ProcessInfo.processInfo.environment["SENSORGATE_RELEASE_BINARY"], !release.isEmpty { paths.append(release) }
        return paths
    }

    @Test(arguments: binaries)
    func linksNeitherFoundationNorICU(_ path: String) throws {
        let elf = try ELFFile(path: path)
        let needed = try elf.neededLibraries()
        #expect(!needed.isEmpty || elf.isStatic, "\(path): no dynamic section read")
        for library in needed {
            #expect(!Self.forbiddenLibraries.contains(library), "\(path) links \(library)")
        }
        // Statically linked, ICU would bring its data (`icudt76_dat`, items named `icudt76l-…`).
        #expect(!elf.contains("icudt"), "\(path) carries ICU's data")
    }

    @Test func theCheckSeesFoundationWhereItIsLinked() throws {
        // The test's own process links Foundation: the same reading must find it there.
        let me = try ELFFile(path: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path)
        #expect(try me.neededLibraries().contains("libFoundation.so"))
    }
}

/// Just enough of ELF64 (little-endian) to list DT_NEEDED.
struct ELFFile {
    let bytes: Data

    init(path: String) throws {
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard bytes.count > 64, bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), bytes[4] == 2, bytes[5] == 1 else {
            throw ELFError(description: "\(path) is not a 64-bit little-endian ELF file")
        }
    }

    func integer(at offset: Int, size: Int) -> Int {
        var value = 0
        for i in (0..<size).reversed() { value = value << 8 | Int(bytes[bytes.startIndex + offset + i]) }
        return value
    }

    /// (type, file offset, virtual address, file size) of each program header.
    var segments: [(type: Int, offset: Int, address: Int, size: Int)] {
        let start = integer(at: 0x20, size: 8), entrySize = integer(at: 0x36, size: 2), count = integer(at: 0x38, size: 2)
        return (0..<count).map { i in
            let h = start + i * entrySize
            return (integer(at: h, size: 4), integer(at: h + 0x08, size: 8), integer(at: h + 0x10, size: 8), integer(at: h + 0x20, size: 8))
        }
    }

    var isStatic: Bool { !segments.contains { $0.type == 2 } }

    /// Whether `text` occurs anywhere in the file (Foundation's search: a release binary is tens of MB).
    func contains(_ text: String) -> Bool {
        bytes.range(of: Data(text.utf8)) != nil
    }

    func neededLibraries() throws -> [String] {
        guard let dynamic = segments.first(where: { $0.type == 2 }) else { return [] }  // PT_DYNAMIC
        var needed: [Int] = []
        var stringTable: Int?
        for entry in stride(from: dynamic.offset, to: dynamic.offset + dynamic.size, by: 16) {
            let tag = integer(at: entry, size: 8), value = integer(at: entry + 8, size: 8)
            if tag == 0 { break }
            if tag == 1 { needed.append(value) }  // DT_NEEDED
            if tag == 5 { stringTable = value }  // DT_STRTAB, an address
        }
        guard let address = stringTable,
              let load = segments.first(where: { $0.type == 1 && $0.address <= address && address < $0.address + $0.size }) else {
            throw ELFError(description: "no string table for the dynamic section")
        }
        let table = address - load.address + load.offset
        return needed.map { offset in
            let start = bytes.startIndex + table + offset
            let end = bytes[start...].firstIndex(of: 0) ?? bytes.endIndex
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }
}

struct ELFError: Error, CustomStringConvertible { var description: String }
