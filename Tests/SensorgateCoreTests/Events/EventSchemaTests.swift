import Testing
@testable import SensorgateCore

/// Every event type has a schema, every event names it, and a sample of every type fits it
/// (a structural check here; `make test` also validates every emitted event with Python's
/// jsonschema against the published files).
@Suite struct EventSchemaTests {
    static let id = EventID("0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11")!
    static let time = Timestamp(rfc3339: "2026-11-26T18:52:36.123Z")!

    /// One event of each type, with every optional field set (exhaustive: a new type needs one).
    static func sample(_ type: EventType, optionals: Bool = true) -> Event {
        let alert = AlertData(rule: "too-hot", severity: .warning, message: "cpu at 71 °C")
        let data: EventData
        switch type {
        case .temperatureReading: data = .temperature(celsius: 48.312, location: optionals ? "enclosure" : nil)
        case .motionDetected: data = .motion(location: optionals ? "hall" : nil)
        case .alertRaised: data = .alertRaised(alert)
        case .alertResolved: data = .alertResolved(alert)
        case .thermostatCommand:
            data = .thermostatCommand(ThermostatCommandData(thermostat: "living-room", outputOn: true, mode: .heat, target: 21,
                                                            celsius: optionals ? 19.7 : nil, reason: "19.7 °C <= 20.5 °C"))
        case .humidityReading: data = .humidity(percent: 45.25, location: optionals ? "bathroom" : nil)
        case .pressureReading: data = .pressure(hpa: 1009.125, location: optionals ? "hall" : nil)
        case .contactChanged: data = .contact(open: optionals, location: optionals ? "front door" : nil)
        case .batteryLevel: data = .battery(percent: 97)
        }
        return Event(id: id, source: "sensorgate/pi", subject: "cpu", time: time, seq: 42, data: data, clockSynced: optionals)
    }

    @Test(arguments: EventType.allCases)
    func everyTypeHasACurrentSchemaNamedInItsEvents(type: EventType) throws {
        let schema = EventSchema.current(for: type)
        #expect(schema.type == type)
        #expect(schema.uri == "urn:sensorgate:schema:\(type.rawValue):\(schema.version)")
        #expect(schema.repositoryPath == "schemas/events/v\(schema.version)/\(type.rawValue).json")
        for optionals in [true, false] {
            let json = try JSONParser.parse(Self.sample(type, optionals: optionals).cloudEventJSON())
            #expect(json["dataschema"] == .string(schema.uri))
            try Self.check(json, against: schema)
        }
    }

    /// The structural part of the schema: required fields, kinds, enums, nothing undeclared.
    static func check(_ json: JSONValue, against schema: EventSchema) throws {
        let data = try #require(json["data"])
        guard case .object(let members) = data else { Issue.record("data is not an object"); return }
        for field in schema.data {
            guard let value = members[field.name] else {
                #expect(!field.required, "\(schema.type): data.\(field.name) missing")
                continue
            }
            switch (field.kind, value) {
            case (.number, .number), (.string, .string), (.boolean, .bool): break
            case (.oneOf(let values), .string(let s)): #expect(values.contains(s), "\(schema.type): data.\(field.name) = \(s)")
            default: Issue.record("\(schema.type): data.\(field.name) is \(value.summary)")
            }
        }
        let declared = Set(schema.data.map(\.name))
        #expect(Set(members.keys).isSubset(of: declared), "\(schema.type): undeclared fields \(Set(members.keys).subtracting(declared))")
        guard case .object(let envelope) = json, case .object(let properties)? = schema.document["properties"].map(JSONValue.init) else {
            Issue.record("no properties")
            return
        }
        #expect(Set(envelope.keys).isSubset(of: Set(properties.keys)), "undeclared attributes \(Set(envelope.keys).subtracting(properties.keys))")
    }

    @Test func publishedSchemasAreUniqueAndFindable() {
        let keys = EventSchema.published.map { "\($0.type.rawValue)/\($0.version)" }
        #expect(Set(keys).count == keys.count)
        for type in EventType.allCases {
            #expect(EventSchema.find(type: type.rawValue) == EventSchema.current(for: type))
            #expect(EventSchema.find(type: type.rawValue, version: 99) == nil)
        }
        #expect(EventSchema.find(type: "Nope") == nil)
    }

    @Test func theDocumentIsADraft202012SchemaWithDataInDefs() {
        let doc = EventSchema.current(for: .thermostatCommand).document
        #expect(doc["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(doc["$id"] == .string("urn:sensorgate:schema:ThermostatCommand:1"))
        #expect(doc["properties"]?["data"] == .object([("$ref", .string("#/$defs/data"))]))
        #expect(doc["$defs"]?["data"]?["required"] == .strings(["thermostat", "output", "mode", "target", "reason"]))
        #expect(doc["properties"]?["replay"]?["pattern"] == .string(EventSchema.replayIDPattern))
    }
}

extension JSONValue {
    /// For comparing a JSONDocument with what the parser reads.
    init(_ document: JSONDocument) {
        switch document {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n): self = .number(n)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(Dictionary(members.map { ($0.0, JSONValue($0.1)) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}

@Suite struct JSONDocumentTests {
    @Test func keepsKeyOrderAndRendersCompactOrIndented() throws {
        let doc: JSONDocument = .object([("b", .number(1)), ("a", .strings(["x", "y"])), ("c", .object([("d", .null), ("e", .bool(true))])),
                                         ("f", .array([.object([]), .array([])]))])
        #expect(doc.rendered(indent: 0) == #"{"b":1,"a":["x","y"],"c":{"d":null,"e":true},"f":[{},[]]}"#)
        #expect(doc.rendered(indent: 2) == """
            {
              "b": 1,
              "a": ["x", "y"],
              "c": {
                "d": null,
                "e": true
              },
              "f": [
                {},
                []
              ]
            }
            """)
        #expect(try JSONParser.parse(doc.rendered()) == JSONValue(doc))
        #expect(doc["c"]?["e"] == .bool(true))
        #expect(doc["z"] == nil)
    }
}
