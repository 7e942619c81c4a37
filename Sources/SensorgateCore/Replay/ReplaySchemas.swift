// JSON Schemas (draft 2020-12) of the replay protocol's own messages: the request a consumer
// publishes and the `done` the gateway answers with. Shipped like the event schemas
// (`sensorgate schema ReplayRequest`, schemas/replay/v1/).

public enum ReplaySchemas {
    public static let version = 1

    public static var requestURI: String { "urn:sensorgate:schema:ReplayRequest:\(version)" }
    public static var doneURI: String { "urn:sensorgate:schema:ReplayDone:\(version)" }

    static func header(_ id: String, _ title: String) -> [(String, JSONDocument)] {
        [("$schema", .string("https://json-schema.org/draft/2020-12/schema")), ("$id", .string(id)), ("title", .string(title))]
    }

    static func seqNumber(_ description: String) -> JSONDocument {
        .object([("type", .string("integer")), ("minimum", .number(1)), ("description", .string(description))])
    }

    static func time(_ description: String) -> JSONDocument {
        .object([("type", .string("string")), ("pattern", .string("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")),
                 ("description", .string(description))])
    }

    /// What a consumer publishes to `{prefix}/{gateway}/replay/request`.
    public static var request: JSONDocument {
        .object(header(requestURI, "ReplayRequest") + [
            ("description", .string("Asks the gateway to publish kept events again, on {prefix}/{gateway}/replay/{id}/{type}/{subject}, then a ReplayDone on {prefix}/{gateway}/replay/{id}/done.")),
            ("type", .string("object")),
            ("required", .strings(["id"])),
            ("properties", .object([
                ("id", .object([("type", .string("string")), ("pattern", .string(EventSchema.replayIDPattern)),
                                ("description", .string("Names the answer's topics; one topic level."))])),
                ("from_seq", seqNumber("The first seq wanted.")),
                ("to_seq", seqNumber("The last seq wanted (inclusive); default: the newest kept.")),
                ("since", time("Events with time at or after this (RFC 3339).")),
                ("until", time("Events with time before this (exclusive); default: no end.")),
                ("type", .object([("type", .string("string")), ("enum", .strings(EventType.allCases.map(\.rawValue))),
                                  ("description", .string("Only events of this type."))])),
                ("subject", .object([("type", .string("string")), ("minLength", .number(1)),
                                     ("description", .string("Only events with this subject (device, rule or thermostat)."))])),
            ])),
            ("additionalProperties", .bool(false)),
            ("oneOf", .array([.object([("required", .strings(["from_seq"]))]), .object([("required", .strings(["since"]))])])),
            ("dependentRequired", .object([("to_seq", .strings(["from_seq"])), ("until", .strings(["since"]))])),
        ])
    }

    /// The last message of every replay, on `{prefix}/{gateway}/replay/{id}/done`.
    public static var done: JSONDocument {
        let nullableSeq: JSONDocument = .object([("type", .array([.string("integer"), .string("null")])), ("minimum", .number(1))])
        return .object(header(doneURI, "ReplayDone") + [
            ("description", .string("How a replay ended: published after every replayed event of it was acknowledged by the broker.")),
            ("type", .string("object")),
            ("required", .strings(["id", "status", "sent", "first_seq", "last_seq", "pruned", "history", "requested", "reason"])),
            ("properties", .object([
                ("id", .object([("type", .string("string")), ("description", .string("The request's id; `_invalid` when it had none usable."))])),
                ("status", .object([("enum", .strings(ReplayStateMachine.Report.Status.allCases.map(\.rawValue))),
                                    ("description", .string("complete: all of the range the history covers was sent; partial: part was pruned or not kept yet (see reason); refused: nothing sent (see reason); aborted: the gateway stopped or could not read its history."))])),
                ("sent", .object([("type", .string("integer")), ("minimum", .number(0)), ("description", .string("Events published and acknowledged."))])),
                ("first_seq", nullableSeq),
                ("last_seq", nullableSeq),
                ("missing", .object([("type", .string("integer")),
                                     ("description", .string("Unfiltered seq ranges only: seqs in the range the history does not hold although not pruned (dropped by on_full, refused by the broker, lost in a crash)."))])),
                ("pruned", .object([("type", .array([.string("object"), .string("null")])),
                                    ("properties", .object([("from_seq", nullableSeq), ("to_seq", nullableSeq)])),
                                    ("description", .string("The requested seqs already pruned (from_seq null: as far back as a time window reaches)."))])),
                ("history", .object([("type", .string("object")),
                                     ("properties", .object([("oldest_seq", nullableSeq), ("newest_seq", nullableSeq)]))])),
                ("requested", .object([("type", .array([.string("object"), .string("null")])), ("description", .string("The request as understood."))])),
                ("reason", .object([("type", .array([.string("string"), .string("null")])), ("description", .string("Why, when not complete."))])),
            ])),
        ])
    }
}
