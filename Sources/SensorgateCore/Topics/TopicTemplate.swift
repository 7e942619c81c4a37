// `mqtt.topic_template`: where events go, with `{prefix}`, `{gateway}`, `{type}`, `{subject}` and
// `{location}` placeholders. Checked once when the config is loaded (wildcards, empty levels and
// unknown placeholders are refused, each with its offset for a file:line:column), expanded per
// event by the pipeline; the topic is stored with the event, so a backlog keeps the topics it
// was emitted with.

public struct TopicTemplate: Sendable, Equatable, CustomStringConvertible {
    public enum Placeholder: String, Sendable, CaseIterable {
        case prefix, gateway, type, subject, location
    }

    enum Piece: Sendable, Equatable {
        case text(String)
        case placeholder(Placeholder)
    }

    /// A reason the template cannot be used, at a character offset into it.
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        case empty
        case unknownPlaceholder(String, offset: Int)
        case unclosedBrace(offset: Int)
        case unopenedBrace(offset: Int)
        case wildcard(Character, offset: Int)
        case emptyLevel(offset: Int)
        case reserved

        public var offset: Int {
            switch self {
            case .empty, .reserved: return 0
            case .unknownPlaceholder(_, let o), .unclosedBrace(let o), .unopenedBrace(let o), .wildcard(_, let o), .emptyLevel(let o):
                return o
            }
        }

        public var description: String {
            let known = Placeholder.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", ")
            switch self {
            case .empty: return "'topic_template' is empty"
            case .unknownPlaceholder(let name, _):
                return "unknown placeholder '{\(name)}' in 'topic_template' (known: \(known))"
            case .unclosedBrace: return "'{' without a closing '}' in 'topic_template'"
            case .unopenedBrace: return "'}' without an opening '{' in 'topic_template'"
            case .wildcard(let c, _): return "'topic_template' may not contain the wildcard '\(c)' (a topic to publish on names one topic)"
            case .emptyLevel: return "'topic_template' has an empty level (a leading, trailing or doubled '/')"
            case .reserved: return "'topic_template' may not start with '$' (topics starting with $ are the broker's own)"
            }
        }
    }

    /// `{prefix}/{gateway}/{type}/{subject}`: SPEC.md's event topics.
    public static let standard = TopicTemplate(pieces: [.placeholder(.prefix), .text("/"), .placeholder(.gateway), .text("/"),
                                                        .placeholder(.type), .text("/"), .placeholder(.subject)])

    /// What an event without a location puts in `{location}`.
    public static let noLocation = "unknown"

    let pieces: [Piece]

    init(pieces: [Piece]) { self.pieces = pieces }

    /// The template as written.
    public var description: String {
        pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .placeholder(let p): return "{\(p.rawValue)}"
            }
        }.joined()
    }

    public func uses(_ placeholder: Placeholder) -> Bool { pieces.contains(.placeholder(placeholder)) }

    /// Parses and checks a template: the template, or every problem found, each with its offset.
    public static func parse(_ text: String) -> (template: TopicTemplate?, problems: [Problem]) {
        guard !text.isEmpty else { return (nil, [.empty]) }
        var problems: [Problem] = []
        if text.hasPrefix("$") { problems.append(.reserved) }
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        // Levels are checked on the template with each placeholder standing for a non-empty value.
        var levelHasContent = false
        func endLevel(at offset: Int) {
            if !levelHasContent { problems.append(.emptyLevel(offset: offset)) }
            levelHasContent = false
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "{":
                guard let close = chars[i...].firstIndex(of: "}") else {
                    problems.append(.unclosedBrace(offset: i))
                    levelHasContent = true
                    i = chars.count
                    continue
                }
                let name = String(chars[(i + 1)..<close])
                if let placeholder = Placeholder(rawValue: name) {
                    if !literal.isEmpty { pieces.append(.text(literal)); literal = "" }
                    pieces.append(.placeholder(placeholder))
                } else {
                    problems.append(.unknownPlaceholder(name, offset: i))
                }
                levelHasContent = true
                i = close + 1
                continue
            case "+", "#":
                problems.append(.wildcard(c, offset: i))
                levelHasContent = true
            case "/":
                endLevel(at: i)
            case "}":
                problems.append(.unopenedBrace(offset: i))
            default:
                levelHasContent = true
            }
            literal.append(c)
            i += 1
        }
        if !levelHasContent { problems.append(.emptyLevel(offset: max(0, chars.count - 1))) }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        return problems.isEmpty ? (TopicTemplate(pieces: pieces), []) : (nil, problems)
    }

    /// The topic for one event. `prefix` is used as configured (it may span levels); the other
    /// values have '/', '+', '#' and NUL replaced by '_' so each stays one valid level.
    public func expand(prefix: String, gateway: String, type: String, subject: String, location: String?) -> String {
        var topic = ""
        for piece in pieces {
            switch piece {
            case .text(let t): topic += t
            case .placeholder(.prefix): topic += prefix
            case .placeholder(.gateway): topic += Self.level(gateway)
            case .placeholder(.type): topic += Self.level(type)
            case .placeholder(.subject): topic += Self.level(subject)
            case .placeholder(.location): topic += Self.level(location ?? Self.noLocation)
            }
        }
        return topic
    }

    static func level(_ value: String) -> String {
        guard !value.isEmpty else { return "_" }
        guard value.contains(where: { $0 == "/" || $0 == "+" || $0 == "#" || $0 == "\0" }) else { return value }
        return String(value.map { $0 == "/" || $0 == "+" || $0 == "#" || $0 == "\0" ? "_" : $0 })
    }
}

extension Event {
    /// The device's location, for events that carry one.
    public var location: String? {
        switch data {
        case .temperature(_, let location), .motion(let location), .humidity(_, let location), .pressure(_, let location),
             .contact(_, let location):
            return location
        case .battery, .alertRaised, .alertResolved, .thermostatCommand:
            return nil
        }
    }

    /// This event's topic under `template`.
    public func topic(template: TopicTemplate, prefix: String, gatewayID: String) -> String {
        template.expand(prefix: prefix, gateway: gatewayID, type: type.rawValue, subject: subject, location: location)
    }
}
