// What the kernel's sysfs attributes hold, by file name, so `check` can tell a profile that
// reads 45 %RH as 45 °C (Documentation/ABI/testing/sysfs-bus-iio, sysfs-class-hwmon,
// sysfs-class-thermal):
//
//   in_temp_input, in_tempY_input            IIO temperature, milli degrees Celsius
//   in_humidityrelative_input                IIO relative humidity, milli percent
//   in_pressure_input, in_pressureY_input    IIO pressure, kilopascal (a decimal: "100.913585937")
//   in_*_raw                                 the same units once (raw + offset) × scale is applied
//   tempN_input (hwmon), temp (thermal)      milli degrees Celsius
//   humidityN_input (hwmon)                  milli percent
//   w1_slave, temperature (w1-therm)         milli degrees Celsius (w1_slave in its own format)

public struct SysfsAttribute: Sendable, Equatable {
    public var event: EventType
    public var unit: ReadingUnit
    /// The attribute holds a decimal fraction (IIO pressure), which `format: integer` rejects.
    public var decimal: Bool
    /// What the ABI calls it, for messages.
    public var description: String

    /// The attribute a file name is, when the kernel's ABI says; nil for names it does not know.
    public static func named(_ fileName: String) -> SysfsAttribute? {
        let name = fileName
        func iio(_ quantity: String) -> Bool {
            guard name.hasPrefix("in_" + quantity) else { return false }
            return name.hasSuffix("_input") || name.hasSuffix("_raw")
        }
        let raw = name.hasSuffix("_raw")
        if iio("humidityrelative") {
            return SysfsAttribute(event: .humidityReading, unit: .millipercent, decimal: raw,
                                  description: "IIO relative humidity in milli-percent")
        }
        if iio("pressure") {
            return SysfsAttribute(event: .pressureReading, unit: .kpa, decimal: true, description: "IIO pressure in kPa")
        }
        if iio("temp") {
            return SysfsAttribute(event: .temperatureReading, unit: .millicelsius, decimal: raw,
                                  description: "IIO temperature in millidegrees Celsius")
        }
        if hwmon(name, "temp") || name == "temp" || name == "temperature" {
            return SysfsAttribute(event: .temperatureReading, unit: .millicelsius, decimal: false,
                                  description: "a temperature in millidegrees Celsius")
        }
        if hwmon(name, "humidity") {
            return SysfsAttribute(event: .humidityReading, unit: .millipercent, decimal: false,
                                  description: "hwmon relative humidity in milli-percent")
        }
        if name == "w1_slave" {
            return SysfsAttribute(event: .temperatureReading, unit: .millicelsius, decimal: false,
                                  description: "the w1-therm driver's scratchpad and millidegrees")
        }
        return nil
    }

    /// hwmon's `<type><N>_input`.
    private static func hwmon(_ name: String, _ type: String) -> Bool {
        guard name.hasPrefix(type), name.hasSuffix("_input") else { return false }
        let number = name.dropFirst(type.count).dropLast(6)
        return !number.isEmpty && number.allSatisfy(\.isNumber)
    }

    /// Why a channel that reads this attribute as `spec` would not be honest, nil when it is.
    public func mismatch(with spec: ReadingSpec, file: String) -> String? {
        if spec.event != event {
            return "\(file) is \(description), but it is read as \(spec.event.rawValue)"
                + (event.units.contains(spec.unit) ? "" : " in \(spec.unit.rawValue)")
                + "; a \(event.rawValue) channel with unit \(unit.rawValue) reads it"
        }
        if spec.unit != unit {
            return "\(file) is \(description), but the unit says \(spec.unit.rawValue); use 'unit: \(unit.rawValue)'"
        }
        if decimal, spec.format == .integer {
            return "\(file) holds a decimal fraction (\(description)), which 'format: integer' rejects; use 'format: float'"
        }
        return nil
    }
}
