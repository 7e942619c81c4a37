// Every adapter the gateway knows, one line each (as Telegraf's plugins/inputs/registry.go and
// rtl_433's device list). An adapter is a folder beside this file whose `+Config.swift` gives its
// definition (keys, settings parser, reading formats) and its factory; adding one is that folder
// and one line in `standard`.

import SensorgateCore

/// An adapter a config can name: what the loader needs to read its settings, and how to build
/// it for a loaded device.
public protocol RegisteredAdapter: DeviceAdapter {
    associatedtype Settings: AdapterSettings
    static var definition: AdapterDefinition { get }
    /// `settings` are what `definition.parse` made for `device`.
    static func make(_ device: DeviceConfig, settings: Settings) throws -> Self
}

public struct AdapterRegistry: Sendable {
    public let adapters: [any RegisteredAdapter.Type]

    public init(_ adapters: [any RegisteredAdapter.Type]) {
        self.adapters = adapters
    }

    /// The list the gateway runs with; messages name the adapters in this order.
    public static let standard = AdapterRegistry([
        SysfsAdapter.self,
        SerialAdapter.self,
        GPIOAdapter.self,
        MQTTInputAdapter.self,
        SimulatedAdapter.self,
    ])

    /// The standard adapters' definitions, for ConfigLoader.
    public static var all: [AdapterDefinition] { standard.definitions }

    public static func makeAdapter(for device: DeviceConfig) throws -> any DeviceAdapter {
        try standard.makeAdapter(for: device)
    }

    public var definitions: [AdapterDefinition] { adapters.map { $0.definition } }

    /// The device's adapter, built from its settings. Throws what the adapter's constructor
    /// throws (an invalid regex), or a BuildError for a device this list cannot build.
    public func makeAdapter(for device: DeviceConfig) throws -> any DeviceAdapter {
        guard let type = adapters.first(where: { $0.definition.name == device.adapter }) else {
            throw BuildError(description: "no adapter named '\(device.adapter)' is registered")
        }
        return try Self.make(type, device)
    }

    private static func make<A: RegisteredAdapter>(_ type: A.Type, _ device: DeviceConfig) throws -> any DeviceAdapter {
        guard let settings = device.settings as? A.Settings else {
            throw BuildError(description: "the '\(device.adapter)' adapter cannot use settings of type \(Swift.type(of: device.settings))")
        }
        return try A.make(device, settings: settings)
    }

    public struct BuildError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }
}

extension DeviceConfig {
    /// The reading spec an adapter that decodes raw input needs (the loader sets it for every
    /// such device); thrown, not trapped, if it is missing.
    public func decodedReadings() throws -> ReadingSpec {
        guard let reading else {
            throw AdapterRegistry.BuildError(description: "the '\(adapter)' adapter needs a reading spec ('event' and 'format')")
        }
        return reading
    }
}
