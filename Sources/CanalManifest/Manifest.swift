public import CanalModel
internal import Yams

/// Reading and writing calicoctl manifests: YAML or JSON, several documents per file, `kind: List`.
///
/// Reading is strict, as calicoctl's is: an unknown field is an error that names it. Each document is
/// decoded on its own, so one bad document does not hide the others.
public enum Manifest {
    /// One document of a manifest, before it is decoded into a resource.
    public struct Document: Sendable, Hashable {
        /// The document as a JSON tree.
        public var value: JSONValue
        /// A short description of where it came from: `document 2 (line 14)`, or `document 1, item 3`.
        public var location: String
    }

    /// One resource read from a manifest: the decoded resource, or every error that kept it from being read.
    public struct Entry: Sendable {
        /// Where in the manifest.
        public var location: String
        /// The `kind` as written, when there is one.
        public var kindName: String?
        /// The `metadata.name` (with namespace, `ns/name`) as written, when there is one.
        public var displayName: String?
        /// The decoded resource, or the error.
        public var result: Result<any AnyResource, ModelError>
    }

    /// The output formats.
    public enum Format: String, Sendable, CaseIterable {
        case yaml, json
    }

    /// Splits a manifest into its documents: a JSON object, a JSON array of objects, or YAML with `---`
    /// separators; the items of a `kind: List` (or `<Kind>List`) become documents of their own.
    ///
    /// - Throws: ``ModelError`` with code ``ModelError/Code/syntax`` when the text is not JSON or YAML.
    public static func documents(from text: String) throws(ModelError) -> [Document] {
        var out: [Document] = []
        let trimmed = text.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{FEFF}" })
        if trimmed.first == "{" || trimmed.first == "[" {
            let value = try JSONValue(parsing: trimmed)
            if case .array(let items) = value {
                for (i, item) in items.enumerated() {
                    appendExpandingLists(item, location: "item \(i + 1)", into: &out)
                }
            } else {
                appendExpandingLists(value, location: "document 1", into: &out)
            }
            return out
        }
        var nodes: [Yams.Node] = []
        do {
            var sequence = try Yams.compose_all(yaml: text)
            while let node = sequence.next() { nodes.append(node) }
            if let error = sequence.error { throw error }
        } catch {
            throw ModelError(.syntax, "invalid YAML: \(error)")
        }
        var index = 0
        for node in nodes {
            let value = try jsonValue(node)
            if value == .null { continue }  // an empty document, e.g. after a trailing `---`
            index += 1
            let line = node.mark.map { " (line \($0.line))" } ?? ""
            appendExpandingLists(value, location: "document \(index)\(line)", into: &out)
        }
        return out
    }

    private static func appendExpandingLists(_ value: JSONValue, location: String, into out: inout [Document]) {
        if let kind = value["kind"]?.stringValue, kind == "List" || (kind.hasSuffix("List") && ResourceKind(name: String(kind.dropLast(4))) != nil),
           case .array(let items)? = value["items"]
        {
            for (i, item) in items.enumerated() {
                out.append(Document(value: item, location: "\(location), item \(i + 1)"))
            }
        } else {
            out.append(Document(value: value, location: location))
        }
    }

    /// Reads every resource of a manifest, each decoded strictly; with `applyDefaults` Calico's defaults
    /// are filled in, and with `validate` each resource is also checked against Calico's rules.
    ///
    /// - Throws: ``ModelError`` only when the text as a whole cannot be split into documents; problems
    ///   with single documents are reported in their ``Entry``.
    public static func read(_ text: String, applyDefaults: Bool = true, validate: Bool = false) throws(ModelError) -> [Entry] {
        try documents(from: text).map { doc in
            let kindName = doc.value["kind"]?.stringValue
            let meta = doc.value["metadata"]
            var name = meta?["name"]?.stringValue
            if let ns = meta?["namespace"]?.stringValue, let n = name { name = "\(ns)/\(n)" }
            let result: Result<any AnyResource, ModelError>
            do throws(ModelError) {
                result = .success(try readResource(doc.value, applyDefaults: applyDefaults, validate: validate))
            } catch {
                result = .failure(error)
            }
            return Entry(location: doc.location, kindName: kindName, displayName: name, result: result)
        }
    }

    /// Writes resources as calicoctl prints them: YAML documents separated by `---`, or indented JSON
    /// (a single object for one resource, a `List` for several).
    public static func write(_ resources: [any AnyResource], format: Format) throws(ModelError) -> String {
        let values = try resources.map { r throws(ModelError) in try r.jsonValue() }
        switch format {
        case .json:
            if values.count == 1 { return values[0].prettyJSONText + "\n" }
            let list = JSONValue.object(JSONObject([
                ("apiVersion", .string(calicoAPIVersion)),
                ("kind", .string("List")),
                ("items", .array(values)),
            ]))
            return list.prettyJSONText + "\n"
        case .yaml:
            return try values.map { v throws(ModelError) in try yamlText(v) }.joined(separator: "---\n")
        }
    }

    /// A JSON tree as a YAML document.
    public static func yamlText(_ value: JSONValue) throws(ModelError) -> String {
        do {
            return try Yams.serialize(node: node(value), indent: 2, width: -1, allowUnicode: true)
        } catch {
            throw ModelError(.schema, "cannot write YAML: \(error)")
        }
    }

    // MARK: YAML <-> JSON trees

    static func jsonValue(_ node: Yams.Node) throws(ModelError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            let where_ = scalar.mark.map { " at line \($0.line), column \($0.column)" } ?? ""
            switch Resolver.default.resolveTag(of: node) {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int:
                if let i = node.int { return .number(String(i)) }
                throw ModelError(.syntax, "invalid YAML: integer \(scalar.string) out of range\(where_)")
            case .float:
                guard let d = node.float, d.isFinite else {
                    throw ModelError(.syntax, "invalid YAML: \(scalar.string) is not a finite number\(where_)")
                }
                return .number(d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d))
            default:
                return .string(scalar.string)
            }
        case .sequence(let seq):
            var items: [JSONValue] = []
            for item in seq { items.append(try jsonValue(item)) }
            return .array(items)
        case .mapping(let mapping):
            var object = JSONObject()
            for (k, v) in mapping {
                guard case .scalar(let keyScalar) = k else {
                    throw ModelError(.syntax, "invalid YAML: mapping keys must be scalars" + (k.mark.map { " (line \($0.line))" } ?? ""))
                }
                let key = keyScalar.string
                if object[key] != nil {
                    throw ModelError(.syntax, "invalid YAML: duplicate key \"\(key)\"" + (k.mark.map { " at line \($0.line)" } ?? ""))
                }
                object[key] = try jsonValue(v)
            }
            return .object(object)
        case .alias:
            throw ModelError(.syntax, "invalid YAML: aliases are not supported" + (node.mark.map { " (line \($0.line))" } ?? ""))
        }
    }

    static func node(_ value: JSONValue) -> Yams.Node {
        switch value {
        case .null: return Yams.Node("null", Tag(.null))
        case .bool(let b): return Yams.Node(b ? "true" : "false", Tag(.bool))
        case .number(let n): return Yams.Node(n, Tag(n.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? .float : .int))
        case .string(let s):
            // A string that would read back as another type (80, true, null, "") is quoted.
            let plain = Yams.Node(s)
            let quoted = s.isEmpty || Resolver.default.resolveTag(of: plain) != .str
            return Yams.Node(s, Tag(.str), quoted ? .doubleQuoted : .any)
        case .array(let items): return Yams.Node(items.map(node))
        case .object(let o): return Yams.Node(o.members.map { (Yams.Node($0.key, Tag(.str)), node($0.value)) })
        }
    }
}

