/// The `metadata` of a resource: Kubernetes' ObjectMeta, as Calico's v3 resources carry it.
///
/// Fields are in the order Kubernetes writes them; empty fields are omitted when encoding.
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The resource's name, unique within its kind (and namespace, for namespaced kinds).
    public var name: String?
    /// Not supported by Calico; rejected on create.
    public var generateName: String?
    /// The namespace, for namespaced kinds only.
    public var namespace: String?
    /// Deprecated; cleared before storage.
    public var selfLink: String?
    /// A unique id, stamped on create.
    public var uid: String?
    /// The datastore revision of the stored value (etcd `mod_revision`); never stored.
    public var resourceVersion: String?
    /// The generation (unused by Calico's etcd backend).
    public var generation: Int64?
    /// When the resource was created, RFC 3339, stamped on create.
    public var creationTimestamp: String?
    /// When deletion was requested, RFC 3339.
    public var deletionTimestamp: String?
    /// Grace period for deletion.
    public var deletionGracePeriodSeconds: Int64?
    /// Labels, matched by selectors.
    public var labels: [String: String]?
    /// Annotations: free-form metadata.
    public var annotations: [String: String]?
    /// Owner references, kept as written.
    public var ownerReferences: [JSONValue]?
    /// Finalizers.
    public var finalizers: [String]?
    /// Server-side apply bookkeeping, kept as written.
    public var managedFields: [JSONValue]?

    /// Metadata with a name and, for namespaced kinds, a namespace.
    public init(
        name: String? = nil, namespace: String? = nil,
        labels: [String: String]? = nil, annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ v: String?, _ k: CodingKeys) throws { if let v, !v.isEmpty { try c.encode(v, forKey: k) } }
        try put(name, .name)
        try put(generateName, .generateName)
        try put(namespace, .namespace)
        try put(selfLink, .selfLink)
        try put(uid, .uid)
        try put(resourceVersion, .resourceVersion)
        if let generation, generation != 0 { try c.encode(generation, forKey: .generation) }
        try put(creationTimestamp, .creationTimestamp)
        try put(deletionTimestamp, .deletionTimestamp)
        try c.encodeIfPresent(deletionGracePeriodSeconds, forKey: .deletionGracePeriodSeconds)
        if let labels, !labels.isEmpty { try c.encode(labels, forKey: .labels) }
        if let annotations, !annotations.isEmpty { try c.encode(annotations, forKey: .annotations) }
        if let ownerReferences, !ownerReferences.isEmpty { try c.encode(ownerReferences, forKey: .ownerReferences) }
        if let finalizers, !finalizers.isEmpty { try c.encode(finalizers, forKey: .finalizers) }
        if let managedFields, !managedFields.isEmpty { try c.encode(managedFields, forKey: .managedFields) }
    }
}
