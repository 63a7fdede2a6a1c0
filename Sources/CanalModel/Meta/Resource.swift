/// The `apiVersion` of every Calico v3 resource.
public let calicoAPIVersion = "projectcalico.org/v3"

/// The spec of one Calico v3 kind: its fields, defaults and validation rules.
///
/// Each kind is `Resource<ItsSpec>`, for example ``NetworkPolicy`` is `Resource<NetworkPolicySpec>`.
public protocol ResourceSpec: Codable, Sendable, Hashable {
    /// The kind this spec belongs to.
    static var kind: ResourceKind { get }
    /// Fills in the defaults Calico applies (on write and on read).
    static func applyDefaults(to resource: inout Resource<Self>)
    /// Reports every rule the resource breaks, beyond the common metadata rules.
    static func validate(_ resource: Resource<Self>, into validator: inout Validator)
}

extension ResourceSpec {
    public static func applyDefaults(to resource: inout Resource<Self>) {}
    public static func validate(_ resource: Resource<Self>, into validator: inout Validator) {}
}

/// A Calico v3 resource: `kind`, `apiVersion`, `metadata`, `spec` (and `status` where Calico has one).
public struct Resource<Spec: ResourceSpec>: Sendable, Hashable {
    /// Name, namespace, labels and bookkeeping.
    public var metadata: ObjectMeta
    /// The kind-specific content.
    public var spec: Spec
    /// Status, for kinds that have one (Node, IPPool, Tier); kept as written.
    public var status: JSONValue?

    /// A resource from its parts.
    public init(metadata: ObjectMeta, spec: Spec, status: JSONValue? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The kind of this resource.
    public static var kind: ResourceKind { Spec.kind }
}

extension Resource: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, apiVersion, metadata, spec, status
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let kind = try c.decodeIfPresent(String.self, forKey: .kind), kind != Spec.kind.name {
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "expected kind \(Spec.kind.name), found \(kind)")
        }
        if let version = try c.decodeIfPresent(String.self, forKey: .apiVersion), version != calicoAPIVersion {
            throw DecodingError.dataCorruptedError(
                forKey: .apiVersion, in: c,
                debugDescription: "unsupported apiVersion \"\(version)\" (expected \(calicoAPIVersion))")
        }
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        if c.contains(.spec), !(try c.decodeNil(forKey: .spec)) {
            spec = try c.decode(Spec.self, forKey: .spec)
        } else {
            // A missing spec decodes as an empty one, as Go's zero value; validation then names what is required.
            spec = try Spec(from: StrictDecoder(
                node: .object(JSONObject()), path: c.codingPath + [CodingKeys.spec], session: DecodingSession()))
        }
        status = try c.decodeIfPresent(JSONValue.self, forKey: .status)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Spec.kind.name, forKey: .kind)
        try c.encode(calicoAPIVersion, forKey: .apiVersion)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(spec, forKey: .spec)
        try c.encodeIfPresent(status, forKey: .status)
    }
}

/// Any Calico v3 resource, whatever its kind: what a manifest or a datastore listing holds.
///
/// Only `Resource<Spec>` conforms; use `as? NetworkPolicy` (or another kind) to get the typed value.
public protocol AnyResource: Codable, Sendable {
    /// The resource's kind.
    var kind: ResourceKind { get }
    /// The resource's metadata.
    var metadata: ObjectMeta { get set }
    /// Applies Calico's defaults in place.
    mutating func applyDefaults()
    /// Every rule the resource breaks; empty when valid.
    func validationErrors() -> [FieldError]
    /// Whether `other` is the same kind with equal content.
    func isEqual(to other: any AnyResource) -> Bool
}

extension Resource: AnyResource {
    public var kind: ResourceKind { Spec.kind }

    public mutating func applyDefaults() { Spec.applyDefaults(to: &self) }

    public func validationErrors() -> [FieldError] {
        var v = Validator()
        metadata.validate(for: Spec.kind, into: &v)
        Spec.validate(self, into: &v)
        return v.errors
    }

    public func isEqual(to other: any AnyResource) -> Bool {
        (other as? Self) == self
    }
}

extension AnyResource {
    /// Throws when the resource breaks any rule.
    ///
    /// - Throws: ``ModelError`` with code ``ModelError/Code/invalid`` listing every field error.
    public func validate() throws(ModelError) {
        let errors = validationErrors()
        if !errors.isEmpty {
            throw ModelError(.invalid, "\(kind.name) \"\(displayName)\" is not valid", fieldErrors: errors)
        }
    }

    /// `namespace/name` for namespaced kinds, otherwise the name.
    public var displayName: String {
        let name = metadata.name ?? ""
        if kind.isNamespaced, let ns = metadata.namespace, !ns.isEmpty { return "\(ns)/\(name)" }
        return name
    }

    /// The resource as a JSON tree, members in Calico's order.
    public func jsonValue() throws(ModelError) -> JSONValue { try JSONValueEncoding.encode(self) }

}

/// Decodes a resource of any known kind from a JSON tree, dispatching on its `kind`.
///
/// - Parameter rejectUnknownFields: strict manifest decoding (true) or tolerant datastore reads (false).
/// - Throws: ``ModelError`` — ``ModelError/Code/unknownKind`` for a missing or unknown kind or apiVersion,
///   ``ModelError/Code/schema`` for a document that does not fit its kind.
public func decodeResource(_ value: JSONValue, rejectUnknownFields: Bool = true) throws(ModelError) -> any AnyResource {
    let kind = try envelopeKind(value)
    let (resource, error) = kind.decode(value, rejectUnknownFields: rejectUnknownFields)
    if let error { throw error }
    return resource!
}

/// The kind of a resource document, after checking its `kind` and `apiVersion`.
private func envelopeKind(_ value: JSONValue) throws(ModelError) -> ResourceKind {
    guard case .object = value else {
        throw ModelError(.schema, "a resource must be an object, found \(value.typeName)")
    }
    guard let kindName = value["kind"]?.stringValue, !kindName.isEmpty else {
        throw ModelError(.unknownKind, "resource has no kind", fieldErrors: [FieldError("kind", "required field is missing")])
    }
    guard let kind = ResourceKind(name: kindName) else {
        throw ModelError(.unknownKind, "unknown resource kind \"\(kindName)\"", fieldErrors: [FieldError("kind", "unknown kind \"\(kindName)\"")])
    }
    guard let version = value["apiVersion"]?.stringValue else {
        throw ModelError(.unknownKind, "\(kindName) has no apiVersion", fieldErrors: [FieldError("apiVersion", "required field is missing")])
    }
    guard version == calicoAPIVersion else {
        throw ModelError(.unknownKind, "unsupported apiVersion \"\(version)\"",
                         fieldErrors: [FieldError("apiVersion", "expected \(calicoAPIVersion), found \"\(version)\"")])
    }
    return kind
}

/// Reads a resource as calicoctl does before it writes one: decodes it strictly, fills in Calico's
/// defaults and (with `validate`) checks it, reporting every problem of the document at once — schema
/// problems (wrong types, unknown fields) together with the rule violations of the fields that decoded.
///
/// - Throws: ``ModelError``: ``ModelError/Code/unknownKind``, ``ModelError/Code/schema`` (with any rule
///   violations found besides) or ``ModelError/Code/invalid``.
public func readResource(_ value: JSONValue, applyDefaults: Bool = true, validate: Bool = true) throws(ModelError) -> any AnyResource {
    let kind = try envelopeKind(value)
    let (decoded, schemaError) = kind.decode(value, rejectUnknownFields: true)
    guard var resource = decoded else { throw schemaError! }
    if applyDefaults { resource.applyDefaults() }
    guard validate else {
        if let schemaError { throw schemaError }
        return resource
    }
    var problems = resource.validationErrors()
    if var schemaError {
        // Rule violations at or under a field that did not decode speak of a stand-in value: drop them.
        let bad = schemaError.fieldErrors.map(\.path.components)
        problems.removeAll { p in bad.contains { p.path.components.starts(with: $0) } }
        schemaError.fieldErrors += problems
        schemaError.fieldErrors.sort { $0.path.description < $1.path.description }
        throw schemaError
    }
    if !problems.isEmpty {
        throw ModelError(.invalid, "\(kind.name) \"\(resource.displayName)\" is not valid", fieldErrors: problems)
    }
    return resource
}

extension ResourceKind {
    fileprivate func decode(_ value: JSONValue, rejectUnknownFields: Bool) -> (resource: (any AnyResource)?, error: ModelError?) {
        func d<S: ResourceSpec>(_: S.Type) -> ((any AnyResource)?, ModelError?) {
            let (r, e) = JSONValueDecoding.decodeCollectingErrors(Resource<S>.self, from: value, rejectUnknownFields: rejectUnknownFields)
            return (r, e)
        }
        switch self {
        case .workloadEndpoint: return d(WorkloadEndpointSpec.self)
        case .hostEndpoint: return d(HostEndpointSpec.self)
        case .profile: return d(ProfileSpec.self)
        case .networkPolicy: return d(NetworkPolicySpec.self)
        case .globalNetworkPolicy: return d(GlobalNetworkPolicySpec.self)
        case .tier: return d(TierSpec.self)
        case .networkSet: return d(NetworkSetSpec.self)
        case .globalNetworkSet: return d(GlobalNetworkSetSpec.self)
        case .ipPool: return d(IPPoolSpec.self)
        case .ipReservation: return d(IPReservationSpec.self)
        case .bgpConfiguration: return d(BGPConfigurationSpec.self)
        case .bgpPeer: return d(BGPPeerSpec.self)
        case .node: return d(NodeSpec.self)
        case .felixConfiguration: return d(FelixConfigurationSpec.self)
        case .clusterInformation: return d(ClusterInformationSpec.self)
        }
    }
}

/// A workload endpoint: one interface of a container or VM.
public typealias WorkloadEndpoint = Resource<WorkloadEndpointSpec>
/// A host endpoint: an interface of a host that policy protects.
public typealias HostEndpoint = Resource<HostEndpointSpec>
/// A profile: rules and labels that endpoints inherit.
public typealias Profile = Resource<ProfileSpec>
/// A namespaced network policy.
public typealias NetworkPolicy = Resource<NetworkPolicySpec>
/// A cluster-wide network policy.
public typealias GlobalNetworkPolicy = Resource<GlobalNetworkPolicySpec>
/// A policy tier.
public typealias Tier = Resource<TierSpec>
/// A namespaced set of networks, selectable by label.
public typealias NetworkSet = Resource<NetworkSetSpec>
/// A cluster-wide set of networks, selectable by label.
public typealias GlobalNetworkSet = Resource<GlobalNetworkSetSpec>
/// A pool of addresses for IPAM.
public typealias IPPool = Resource<IPPoolSpec>
/// Addresses IPAM must not hand out.
public typealias IPReservation = Resource<IPReservationSpec>
/// BGP settings, cluster-wide (`default`) or per node (`node.<name>`).
public typealias BGPConfiguration = Resource<BGPConfigurationSpec>
/// A BGP peering.
public typealias BGPPeer = Resource<BGPPeerSpec>
/// A Calico node.
public typealias Node = Resource<NodeSpec>
/// Felix settings, cluster-wide (`default`) or per node (`node.<name>`).
public typealias FelixConfiguration = Resource<FelixConfigurationSpec>
/// Cluster-wide information (`default`).
public typealias ClusterInformation = Resource<ClusterInformationSpec>
