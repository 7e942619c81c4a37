// The JSON of /status, /healthz and the status page's live updates, built from the StatusBoard.
// Times are RFC 3339 (UTC), durations in seconds, values rounded as events round them.

import SensorgateCore

enum StatusDocument {
    /// Everything the board knows: gateway, health, uplink, buffer, devices, thermostats, alerts.
    /// `history`: each device's last hour as well (the page's sparklines).
    static func status(board: StatusBoard, pipeline: PipelineStatus, uplink: UplinkStatus?, health: [HealthProblem],
                       now: Timestamp, nowBoot: Int64, downFor: Int64?, history: Bool) -> JSONValue {
        var root: [String: JSONValue] = [
            "gateway": .string(board.gatewayID),
            "version": .string(BuildInfo.version),
            "started": .string(board.startedAt.rfc3339),
            "time": .string(now.rfc3339),
            "uptime_seconds": .number(Double((nowBoot - board.startedBoot) / 1000)),
            "health": healthValue(health),
            "events": .object(["emitted": .number(Double(pipeline.emitted)), "last_seq": pipeline.lastSeq.map { .number(Double($0)) } ?? .null]),
        ]
        if let u = uplink {
            root["uplink"] = .object([
                "broker": .string(u.broker),
                "connected": .bool(u.connected),
                "connects": .number(Double(u.connects)),
                "disconnects": .number(Double(u.disconnects)),
                "down_seconds": downFor.map { .number(Double($0 / 1000)) } ?? .null,
                "in_flight": .number(Double(u.inFlight)),
                "published": .number(Double(u.counters.published)),
                "acknowledged": .number(Double(u.counters.acknowledged)),
                "refused": .number(Double(u.counters.refused)),
            ])
            root["buffer"] = .object([
                "events": .number(Double(u.stored)),
                "bytes": .number(Double(u.storedBytes)),
                "max_events": .number(Double(u.maxEvents)),
                "max_bytes": .number(Double(u.maxBytes)),
                "oldest_age_seconds": u.oldest.map { .number(Double(max(0, now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000)) } ?? .null,
                "waiting": .number(Double(u.waiting)),
                "written": .number(Double(u.counters.saved)),
                "dropped": .number(Double(u.counters.dropped)),
                "dead_lettered": .number(Double(u.counters.deadLettered)),
            ])
        } else {
            root["uplink"] = .null
            root["buffer"] = .null
        }
        let bucket = ReadingHistory.bucket(of: now)
        root["devices"] = .array(pipeline.devices.map { d in
            var device: [String: JSONValue] = [
                "id": .string(d.id),
                "type": .string(d.type.rawValue),
                "location": d.location.map(JSONValue.string) ?? .null,
                "value": d.value.map { .number(roundedCelsius($0)) } ?? .null,
                "unit": d.unit.map(JSONValue.string) ?? .null,
                "text": d.text.map(JSONValue.string) ?? .null,
                "channels": .array(d.channels.map { c in
                    .object([
                        "type": .string(c.type.rawValue),
                        "value": c.value.map { .number(roundedReading($0)) } ?? .null,
                        "unit": c.unit.map(JSONValue.string) ?? .null,
                        "text": .string(c.text),
                        "time": .string(c.time.rfc3339),
                        "seq": .number(Double(c.seq)),
                    ])
                }),
                "time": d.time.map { .string($0.rfc3339) } ?? .null,
                "age_seconds": d.time.map { .number(Double(max(0, now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000)) } ?? .null,
                "seq": d.seq.map { .number(Double($0)) } ?? .null,
                "readings": .number(Double(d.readings)),
                "failures": .object(Dictionary(uniqueKeysWithValues: d.failures.map { ($0.key.rawValue, JSONValue.number(Double($0.value))) })),
                "failing": .bool(d.failingFor > 0),
                "last_failure": d.lastFailure.map(JSONValue.string) ?? .null,
            ]
            if history { device["history"] = historyValue(d, through: bucket) }
            return .object(device)
        })
        root["thermostats"] = .array(pipeline.thermostats.map { t in
            .object([
                "name": .string(t.name),
                "device": .string(t.device),
                "mode": .string(t.mode.rawValue),
                "target": .number(t.target),
                "output": .string(t.outputOn ? "on" : "off"),
                "celsius": t.celsius.map { .number(roundedCelsius($0)) } ?? .null,
                "stale": .bool(t.stale),
            ])
        })
        root["alerts"] = .array(pipeline.alerts.map { a in
            .object(["rule": .string(a.rule), "severity": .string(a.severity.rawValue), "message": .string(a.message)])
        })
        return .object(root)
    }

    /// `{"step": 30, "end": <epoch s>, "values": [...]}`: oldest first, null where nothing came.
    static func historyValue(_ device: DeviceStatus, through bucket: Int64) -> JSONValue {
        let counting = device.type == .motionDetected
        let values = device.history.values(through: bucket, counting: counting)
        return .object([
            "step": .number(Double(ReadingHistory.bucketSeconds)),
            "end": .number(Double((bucket + 1) * ReadingHistory.bucketSeconds)),
            "values": .array(values.map { $0.map { .number(roundedCelsius($0)) } ?? .null }),
        ])
    }

    /// Each device's history alone, for the page's `history` event.
    static func histories(_ pipeline: PipelineStatus, now: Timestamp) -> JSONValue {
        let bucket = ReadingHistory.bucket(of: now)
        return .object(Dictionary(uniqueKeysWithValues: pipeline.devices.map { ($0.id, historyValue($0, through: bucket)) }))
    }

    static func healthValue(_ problems: [HealthProblem]) -> JSONValue {
        .object([
            "status": .string(problems.isEmpty ? "ok" : "unhealthy"),
            "reasons": .array(problems.map { .object(["reason": .string($0.reason.rawValue), "message": .string($0.message)]) }),
        ])
    }

    static func bytes(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        writer.value(value)
        return writer.bytes
    }
}
