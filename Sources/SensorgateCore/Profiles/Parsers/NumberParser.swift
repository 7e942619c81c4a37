// `integer` and `float` formats: a number alone on a line, as sysfs attributes hold them.
//
//   /sys/class/thermal/thermal_zone0/temp      "48312\n"   (millidegrees)
//   /sys/class/hwmon/hwmon2/temp1_input        "36500\n"
//   a serial sensor printing plain °C          "21.50\r\n"

enum NumberParser {
    static func parseInteger(_ text: String) -> RawReading {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { return .failed(.malformed("empty input")) }
        guard let value = Int64(trimmed) else { return .failed(.malformed("expected an integer, got \(quoted(trimmed))")) }
        return .value(Double(value))
    }

    static func parseFloat(_ text: String) -> RawReading {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { return .failed(.malformed("empty input")) }
        guard let value = Double(trimmed), value.isFinite else {
            return .failed(.malformed("expected a number, got \(quoted(trimmed))"))
        }
        return .value(value)
    }
}

/// Quotes untrusted input for a log line, cut short and with control characters escaped.
func quoted(_ text: String, limit: Int = 60) -> String {
    var out = "\""
    for (i, scalar) in text.unicodeScalars.enumerated() {
        if i == limit { out += "…"; break }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\"": out += "\\\""
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
