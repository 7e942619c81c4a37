// `${VAR}` and `${VAR:-default}` in any config string, from the environment; `$$` is a literal `$`.

enum EnvironmentSubstitution {
    enum Failure: Error, Equatable {
        case unset(String)
        case unterminated
        case badName(String)
    }

    static func apply(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("$") else { return .success(text) }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            guard c == "$", next < text.endIndex else { out.append(c); i = next; continue }
            if text[next] == "$" { out.append("$"); i = text.index(after: next); continue }
            guard text[next] == "{" else { out.append(c); i = next; continue }
            guard let close = text[next...].firstIndex(of: "}") else { return .failure(.unterminated) }
            let body = text[text.index(after: next)..<close]
            let name: Substring, fallback: Substring?
            if let sep = body.range(of: ":-") {
                name = body[..<sep.lowerBound]
                fallback = body[sep.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard let first = name.first, first == "_" || first.isLetter,
                  name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                return .failure(.badName(String(name)))
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                return .failure(.unset(String(name)))
            }
            i = text.index(after: close)
        }
        return .success(out)
    }
}
