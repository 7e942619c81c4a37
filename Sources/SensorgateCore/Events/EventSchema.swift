// The contract of every event type: the JSON Schema (draft 2020-12) its CloudEvents JSON
// satisfies, with a major version in its URI, which every event carries as `dataschema`.
//
// Adding an event type means one case in `current(for:)` below (the switch is exhaustive, so the
// compiler refuses a type without a schema) and `make schemas` to write schemas/events/. Within
// a version only additive changes are allowed (a new optional field); anything else is a new
// version, and the old one stays in `previous` for its deprecation period (README, "Event
// contract").

public struct EventSchema: Sendable, Equatable {
    /// One field of `data`.
    public struct Field: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case number
            case string
            case boolean
            case oneOf([String])
        }

        public var name: String
        public var kind: Kind
        public var required: Bool
        public var description: String

        public static func number(_ name: String, required: Bool = true, _ description: String) -> Field {
            Field(name: name, kind: .number, required: required, description: description)
        }
        public static func string(_ name: String, required: Bool = true, _ description: String) -> Field {
            Field(name: name, kind: .string, required: required, description: description)
        }
        public static func boolean(_ name: String, required: Bool = true, _ description: String) -> Field {
            Field(name: name, kind: .boolean, required: required, description: description)
        }
        public static func oneOf(_ name: String, _ values: [String], required: Bool = true, _ description: String) -> Field {
            Field(name: name, kind: .oneOf(values), required: required, description: description)
        }
    }

    public var type: EventType
    public var version: Int
    public var description: String
    public var data: [Field]

    /// The schema's `$id` and the events' `dataschema`: a URN, so no tool tries to fetch it
    /// (`sensorgate schema TYPE` prints the schema; schemas/events/ in the repository has them).
    public var uri: String { Self.uri(type: type, version: version) }

    public static func uri(type: EventType, version: Int) -> String { "urn:sensorgate:schema:\(type.rawValue):\(version)" }

    /// Where the repository keeps this schema, relative to its root.
    public var repositoryPath: String { "schemas/events/v\(version)/\(type.rawValue).json" }

    static let location = Field.string("location", required: false, "The device's `location` from the config, when set.")

    /// The schema every event of `type` carries in `dataschema`.
    public static func current(for type: EventType) -> EventSchema {
        switch type {
        case .temperatureReading:
            return EventSchema(type: type, version: 1, description: "A temperature measured by a device (`subject`).", data: [
                .number("celsius", "Degrees Celsius, rounded to 0.001."), location,
            ])
        case .motionDetected:
            return EventSchema(type: type, version: 1, description: "A motion sensor (`subject`) saw motion.", data: [location])
        case .alertRaised:
            return EventSchema(type: type, version: 1,
                               description: "A rule's condition became true (`subject`: the rule, or the thermostat that raised it).",
                               data: alertFields)
        case .alertResolved:
            return EventSchema(type: type, version: 1,
                               description: "A raised alert's condition ended (`subject`: the rule or thermostat).",
                               data: alertFields)
        case .thermostatCommand:
            return EventSchema(type: type, version: 1, description: "A thermostat (`subject`) switched its output.", data: [
                .string("thermostat", "The thermostat's name."),
                .oneOf("output", ["on", "off"], "The output it switched to."),
                .oneOf("mode", ThermostatMode.allCases.map(\.rawValue), "Its mode at the time."),
                .number("target", "Its set-point in degrees Celsius."),
                .number("celsius", required: false, "The reading that decided, when there was one."),
                .string("reason", "Why, in words."),
            ])
        case .humidityReading:
            return EventSchema(type: type, version: 1, description: "A relative humidity measured by a device (`subject`).", data: [
                .number("percent", "Relative humidity in %RH, rounded to 0.001."), location,
            ])
        case .pressureReading:
            return EventSchema(type: type, version: 1, description: "An air pressure measured by a device (`subject`).", data: [
                .number("hpa", "Hectopascals, rounded to 0.001."), location,
            ])
        case .contactChanged:
            return EventSchema(type: type, version: 1,
                               description: "A door or window contact (`subject`) reported its state: at a change, and when its line or payload is first read.",
                               data: [.boolean("open", "true: open; false: closed."), location])
        case .batteryLevel:
            return EventSchema(type: type, version: 1, description: "A device (`subject`) reported its battery's charge.", data: [
                .number("percent", "Charge in percent, rounded to 0.001."),
            ])
        }
    }

    static let alertFields: [Field] = [
        .string("rule", "The rule's (or thermostat's) name."),
        .oneOf("severity", AlertSeverity.allCases.map(\.rawValue), "How urgent."),
        .string("message", "The alert's message with its placeholders filled in."),
    ]

    /// The event contract as a whole (the AsyncAPI document's `info.version`): the major number
    /// moves with any schema's major version, the minor with additive changes.
    /// 1.1: HumidityReading, PressureReading, ContactChanged and BatteryLevel (new types: additive).
    public static let contractVersion = "1.1.0"

    /// Versions still published beside the current ones during their deprecation period.
    public static let previous: [EventSchema] = []

    /// Every schema the binary and the repository publish: the current one of each type, then
    /// older versions still in their deprecation period.
    public static var published: [EventSchema] { EventType.allCases.map(current(for:)) + previous }

    /// A published schema by type name and version (nil: the current one).
    public static func find(type name: String, version: Int? = nil) -> EventSchema? {
        published.first { $0.type.rawValue == name && (version == nil ? $0 == current(for: $0.type) : $0.version == version) }
    }

    /// `,"dataschema":"urn:…"`, per type, computed once: written into every event.
    static let dataschemaAttribute: [EventType: [UInt8]] = {
        var table: [EventType: [UInt8]] = [:]
        for type in EventType.allCases { table[type] = Array(",\"dataschema\":\"\(current(for: type).uri)\"".utf8) }
        return table
    }()

    // MARK: The document

    static let uuidPattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    static let timePattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"
    /// Replay ids: they are topic levels, so no `/`, `+` or `#`.
    public static let replayIDPattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

    /// The JSON Schema (draft 2020-12) of the whole CloudEvent, with `data` in `$defs/data` so a
    /// consumer can validate the data alone as well.
    public var document: JSONDocument {
        let envelopeRequired = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "seq", "data"]
        var dataProperties: [(String, JSONDocument)] = []
        for field in data {
            var property: [(String, JSONDocument)]
            switch field.kind {
            case .number: property = [("type", .string("number"))]
            case .string: property = [("type", .string("string"))]
            case .boolean: property = [("type", .string("boolean"))]
            case .oneOf(let values): property = [("type", .string("string")), ("enum", .strings(values))]
            }
            property.append(("description", .string(field.description)))
            dataProperties.append((field.name, .object(property)))
        }
        let dataSchema: JSONDocument = .object([
            ("type", .string("object")),
            ("required", .strings(data.filter(\.required).map(\.name))),
            ("properties", .object(dataProperties)),
        ])
        func string(_ description: String, _ extra: [(String, JSONDocument)] = []) -> JSONDocument {
            .object([("type", .string("string"))] + extra + [("description", .string(description))])
        }
        return .object([
            ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
            ("$id", .string(uri)),
            ("title", .string(type.rawValue)),
            ("description", .string(description + " A CloudEvents 1.0 event in structured JSON mode, as sensorgate publishes it; schema version \(version)."
                                     + " Properties not listed here may be added within this version; consumers should ignore them.")),
            ("type", .string("object")),
            ("required", .strings(envelopeRequired)),
            ("properties", .object([
                ("specversion", .object([("const", .string("1.0"))])),
                ("id", string("A UUIDv7; the same when an event is sent again (a retry or a replay).", [("pattern", .string(Self.uuidPattern))])),
                ("source", string("sensorgate/<gateway id>.", [("pattern", .string("^sensorgate/[A-Za-z0-9_-]+$"))])),
                ("type", .object([("const", .string(type.rawValue))])),
                ("subject", string("The device id, or the rule or thermostat name.", [("minLength", .number(1))])),
                ("time", string("When it happened, RFC 3339 in UTC with milliseconds.", [("pattern", .string(Self.timePattern))])),
                ("datacontenttype", .object([("const", .string("application/json"))])),
                ("dataschema", .object([("const", .string(uri)), ("description", .string("This schema's URI."))])),
                ("seq", .object([("type", .string("integer")), ("minimum", .number(1)),
                                 ("description", .string("One sequence per gateway over all types: rises by exactly 1 per event emitted while it runs; a gap means events were lost or dropped."))])),
                ("clocksynced", .object([("type", .string("boolean")),
                                         ("description", .string("false while the host clock was not synchronized: `time` may be wrong."))])),
                ("replay", string("Present on events sent again on request: the replay request's id.", [("pattern", .string(Self.replayIDPattern))])),
                ("data", .object([("$ref", .string("#/$defs/data"))])),
            ])),
            ("$defs", .object([("data", dataSchema)])),
        ])
    }

    /// The schema as the repository and `sensorgate schema` show it (two-space indent, newline).
    public var text: String { document.rendered(indent: 2) + "\n" }
}
