// The w1-therm driver's `w1_slave` file (DS18B20, DS18S20, DS1822, MAX31850):
//
//   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
//   72 01 4b 46 7f ff 0e 10 57 t=23125
//
// Line 1 is the 9-byte scratchpad and the driver's CRC verdict; line 2 repeats the bytes and
// gives the temperature in millidegrees. `NO` means the bus corrupted the read: never a reading.
// A sensor whose data line is stuck low reads all zeros, which passes the CRC (crc=00 YES) and
// would report 0 °C: that is rejected as malformed too. The CRC is also checked here, so a
// truncated or altered file cannot pass as YES.

enum W1SlaveParser {
    static func parse(_ text: String) -> RawReading {
        let lines = text.split(whereSeparator: \.isNewline).map { String($0) }
        guard lines.count >= 2 else { return .failed(.malformed("expected two lines, got \(lines.count)")) }
        let first = lines[0].split(separator: " ", omittingEmptySubsequences: true)
        guard let verdict = first.last, first.count >= 2, first[first.count - 2].hasPrefix("crc=") else {
            return .failed(.malformed("first line has no 'crc=.. YES|NO': \(quoted(lines[0]))"))
        }
        let scratchpad = first.prefix(while: { $0 != ":" })
        guard scratchpad.count == 9, scratchpad.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
            return .failed(.malformed("first line does not start with 9 scratchpad bytes: \(quoted(lines[0]))"))
        }
        switch verdict {
        case "YES": break
        case "NO": return .failed(.crcFailed("CRC check failed: \(lines[0])"))
        default: return .failed(.malformed("CRC verdict is neither YES nor NO: \(quoted(String(verdict)))"))
        }
        let bytes = scratchpad.map { UInt8($0, radix: 16)! }
        if dallasCRC8(bytes[0..<8]) != bytes[8] {
            return .failed(.crcFailed("the driver said YES but the scratchpad's CRC does not match: \(lines[0])"))
        }
        if bytes.allSatisfy({ $0 == 0 }) {
            return .failed(.malformed("scratchpad is all zeros: the sensor is not answering (check the data line and pull-up)"))
        }
        guard let range = lines[1].range(of: "t=") else {
            return .failed(.malformed("second line has no 't=': \(quoted(lines[1]))"))
        }
        let number = lines[1][range.upperBound...].trimmingSpaces
        guard let milli = Int64(number) else { return .failed(.malformed("'t=' is not an integer: \(quoted(number))")) }
        return .value(Double(milli))
    }
}

/// Dallas/Maxim CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected 0x8C), as the w1 driver computes it.
func dallasCRC8(_ bytes: ArraySlice<UInt8>) -> UInt8 {
    var crc: UInt8 = 0
    for var byte in bytes {
        for _ in 0..<8 {
            let mix = (crc ^ byte) & 1
            crc >>= 1
            if mix != 0 { crc ^= 0x8C }
            byte >>= 1
        }
    }
    return crc
}
