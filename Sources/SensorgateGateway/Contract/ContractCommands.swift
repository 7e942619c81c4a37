// `sensorgate schema [TYPE]` and `sensorgate asyncapi`: the event contract as the binary carries
// it (no files needed), and the AsyncAPI description of a config.

import SensorgateCore

public enum ContractCommands {
    /// Every schema the binary publishes: name, version, URI and text.
    public static var schemas: [(name: String, version: Int, uri: String, text: String)] {
        EventSchema.published.map { ($0.type.rawValue, $0.version, $0.uri, $0.text) } + [
            ("ReplayRequest", ReplaySchemas.version, ReplaySchemas.requestURI, ReplaySchemas.request.rendered() + "\n"),
            ("ReplayDone", ReplaySchemas.version, ReplaySchemas.doneURI, ReplaySchemas.done.rendered() + "\n"),
        ]
    }

    /// Where the repository keeps a schema (schemas/events/v1/TemperatureReading.json).
    public static func repositoryPath(name: String, version: Int) -> String {
        name.hasPrefix("Replay") ? "schemas/replay/v\(version)/\(name).json" : "schemas/events/v\(version)/\(name).json"
    }

    /// `sensorgate schema`: one line per schema, `NAME URI`.
    public static func list() -> String {
        let width = schemas.map(\.name.count).max() ?? 0
        return schemas.map { $0.name + String(repeating: " ", count: width - $0.name.count + 2) + $0.uri }.joined(separator: "\n") + "\n"
    }

    /// `sensorgate schema TYPE [--version N]`, or the error to print.
    public static func schema(_ name: String, version: Int?) -> Result<String, SchemaError> {
        let matching = schemas.filter { $0.name == name }
        guard !matching.isEmpty else {
            let names = schemas.map(\.name)
            let close = names.first { $0.lowercased() == name.lowercased() }
            return .failure(SchemaError(description: "unknown type '\(name)'\(close.map { "; did you mean '\($0)'?" } ?? ""); one of \(names.joined(separator: ", "))"))
        }
        if let version {
            guard let found = matching.first(where: { $0.version == version }) else {
                return .failure(SchemaError(description: "\(name) has no published version \(version); published: \(matching.map { String($0.version) }.joined(separator: ", "))"))
            }
            return .success(found.text)
        }
        return .success(matching[0].text)
    }

    /// `make schemas`: writes every published schema to its place under `root` (the repository);
    /// returns the paths written.
    public static func write(to root: String) throws -> [String] {
        var written: [String] = []
        for schema in schemas {
            let path = Paths.join(root, repositoryPath(name: schema.name, version: schema.version))
            try FileSystem.createDirectories(Paths.directory(of: path))
            try FileSystem.writeText(path, schema.text)
            written.append(path)
        }
        return written
    }

    public struct SchemaError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func asyncAPI(_ config: GatewayConfig) -> String {
        AsyncAPIDocument.make(config).rendered() + "\n"
    }
}
