public import CanalModel

/// One Kubernetes object of a kind Calico converts.
public enum KubernetesObject: Sendable, Hashable {
    case networkPolicy(KubernetesNetworkPolicy)
    case namespace(KubernetesNamespace)
    case serviceAccount(KubernetesServiceAccount)
    case pod(KubernetesPod)

    /// Which object this is: kind, namespace and name.
    public var reference: KubernetesObjectReference {
        switch self {
        case .networkPolicy(let p): KubernetesObjectReference(kind: KubernetesNetworkPolicy.kind, namespace: p.metadata.namespace ?? "default", name: p.metadata.name ?? "")
        case .namespace(let n): KubernetesObjectReference(kind: KubernetesNamespace.kind, namespace: nil, name: n.metadata.name ?? "")
        case .serviceAccount(let s): KubernetesObjectReference(kind: KubernetesServiceAccount.kind, namespace: s.metadata.namespace ?? "default", name: s.metadata.name ?? "")
        case .pod(let p): KubernetesObjectReference(kind: KubernetesPod.kind, namespace: p.metadata.namespace ?? "default", name: p.metadata.name ?? "")
        }
    }

    /// Decodes one object from a JSON tree, dispatching on `apiVersion` and `kind`, and checks it as
    /// the API server would. A namespaced object without a namespace gets `defaultNamespace`, as
    /// kubectl gives it the context's namespace.
    ///
    /// Decoding is strict where Calico reads the whole object: an unknown field of a NetworkPolicy
    /// (or at the top level of any object) is an error. A pod's spec and status, and a namespace's
    /// spec and status, hold much more than Calico reads, and the rest is ignored.
    ///
    /// - Throws: ``KubernetesError`` — ``KubernetesError/Code/unsupportedKind``,
    ///   ``KubernetesError/Code/schema`` or ``KubernetesError/Code/invalid``, every problem with its field path.
    public static func decode(_ value: JSONValue, defaultNamespace: String = "default") throws(KubernetesError) -> KubernetesObject {
        guard case .object = value else {
            throw KubernetesError(.schema, "a Kubernetes object must be a map, found \(value.typeName)")
        }
        let kind = value["kind"]?.stringValue ?? ""
        let apiVersion = value["apiVersion"]?.stringValue ?? ""
        if kind.isEmpty {
            throw KubernetesError(.unsupportedKind, "object has no kind", fieldErrors: [FieldError("kind", "Required value")])
        }
        let expected: String
        var object: KubernetesObject
        switch kind {
        case KubernetesNetworkPolicy.kind:
            expected = KubernetesNetworkPolicy.apiVersion
            try checkVersion(apiVersion, expected, kind)
            object = .networkPolicy(try strict(KubernetesNetworkPolicy.self, value, kind: kind, ignoringUnknownUnder: ["metadata", "status"]))
        case KubernetesNamespace.kind:
            expected = KubernetesNamespace.apiVersion
            try checkVersion(apiVersion, expected, kind)
            object = .namespace(try strict(KubernetesNamespace.self, value, kind: kind, ignoringUnknownUnder: ["metadata", "spec", "status"]))
        case KubernetesServiceAccount.kind:
            expected = KubernetesServiceAccount.apiVersion
            try checkVersion(apiVersion, expected, kind)
            object = .serviceAccount(try strict(KubernetesServiceAccount.self, value, kind: kind, ignoringUnknownUnder: ["metadata", "secrets", "imagePullSecrets"]))
        case KubernetesPod.kind:
            expected = KubernetesPod.apiVersion
            try checkVersion(apiVersion, expected, kind)
            object = .pod(try strict(KubernetesPod.self, value, kind: kind, ignoringUnknownUnder: ["metadata", "spec", "status"]))
        default:
            throw KubernetesError(
                .unsupportedKind, "unsupported kind \"\(kind)\" (\(apiVersion))",
                fieldErrors: [FieldError("kind", "Unsupported value: \"\(kind)\": supported values: \"NetworkPolicy\", \"Namespace\", \"ServiceAccount\", \"Pod\", \"List\"")])
        }
        object.fillNamespace(defaultNamespace)
        try KubernetesValidation.validate(object)
        return object
    }

    /// The objects of one document: the document itself, or the `items` of a `List` (or
    /// `<Kind>List`, as `kubectl get -o yaml` prints them), each decoded with ``decode(_:defaultNamespace:)``.
    ///
    /// - Throws: ``KubernetesError``; for a list item the field paths start at `items[<index>]`.
    public static func objects(in value: JSONValue, defaultNamespace: String = "default") throws(KubernetesError) -> [KubernetesObject] {
        if let kind = value["kind"]?.stringValue, kind == "List" || kind.hasSuffix("List") {
            guard case .array(let items)? = value["items"] else {
                throw KubernetesError(.schema, "\(kind) has no items", fieldErrors: [FieldError("items", "Required value")])
            }
            var out: [KubernetesObject] = []
            for (i, item) in items.enumerated() {
                do throws(KubernetesError) {
                    out.append(try decode(item, defaultNamespace: defaultNamespace))
                } catch {
                    var e = error
                    e.fieldErrors = e.fieldErrors.map { FieldError(FieldPath(components: [.key("items"), .index(i)] + $0.path.components), $0.message) }
                    throw e
                }
            }
            return out
        }
        return [try decode(value, defaultNamespace: defaultNamespace)]
    }

    private mutating func fillNamespace(_ ns: String) {
        func fill(_ meta: inout ObjectMeta) { if meta.namespace?.isEmpty ?? true { meta.namespace = ns } }
        switch self {
        case .networkPolicy(var p): fill(&p.metadata); self = .networkPolicy(p)
        case .serviceAccount(var s): fill(&s.metadata); self = .serviceAccount(s)
        case .pod(var p): fill(&p.metadata); self = .pod(p)
        case .namespace: break
        }
    }

    private static func checkVersion(_ version: String, _ expected: String, _ kind: String) throws(KubernetesError) {
        guard version == expected else {
            throw KubernetesError(
                .unsupportedKind, "\(kind) of apiVersion \"\(version)\" is not supported",
                fieldErrors: [FieldError("apiVersion", "Unsupported value: \"\(version)\": supported values: \"\(expected)\"")])
        }
    }

    /// Decodes `type`, reporting unknown fields except under the given top-level members.
    private static func strict<T: Decodable>(_ type: T.Type, _ value: JSONValue, kind: String, ignoringUnknownUnder tolerant: Set<String>) throws(KubernetesError) -> T {
        let lenient = JSONValueDecoding.decodeCollectingErrors(type, from: value, rejectUnknownFields: false)
        let full = JSONValueDecoding.decodeCollectingErrors(type, from: value, rejectUnknownFields: true)
        let schema = lenient.error?.fieldErrors ?? []
        let unknown = (full.error?.fieldErrors ?? []).filter { e in
            guard !schema.contains(e) else { return false }
            guard case .key(let top)? = e.path.components.first else { return true }
            return !(tolerant.contains(top) && e.path.components.count > 1)
        }
        let problems = schema + unknown
        let name = value["metadata"]?["name"]?.stringValue ?? ""
        if !problems.isEmpty || lenient.value == nil {
            throw KubernetesError(.schema, "\(kind) \"\(name)\" does not match its schema", fieldErrors: problems)
        }
        return lenient.value!
    }
}

/// Which Kubernetes object: `kind`, `namespace` (nil for a Namespace) and `name`; printed
/// `NetworkPolicy/prod/web` or `Namespace/prod`.
public struct KubernetesObjectReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `NetworkPolicy`, `Namespace`, `ServiceAccount` or `Pod`.
    public var kind: String
    /// The namespace; nil for a Namespace.
    public var namespace: String?
    /// The name.
    public var name: String

    /// A reference from its parts.
    public init(kind: String, namespace: String?, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// Parses the printed form (`Kind/namespace/name` or `Namespace/name`).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 2 where parts[0] == KubernetesNamespace.kind: self.init(kind: parts[0], namespace: nil, name: parts[1])
        case 3 where parts[0] != KubernetesNamespace.kind: self.init(kind: parts[0], namespace: parts[1], name: parts[2])
        default: return nil
        }
    }

    public var description: String {
        if let namespace { return "\(kind)/\(namespace)/\(name)" }
        return "\(kind)/\(name)"
    }

    public static func < (a: Self, b: Self) -> Bool { a.description < b.description }
}
