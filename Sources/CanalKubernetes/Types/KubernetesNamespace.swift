public import CanalModel

/// A Kubernetes v1 Namespace; only its metadata matters to Calico (its labels become `pcns.` labels).
public struct KubernetesNamespace: Codable, Sendable, Hashable {
    /// `v1`.
    public static let apiVersion = "v1"
    /// `Namespace`.
    public static let kind = "Namespace"
    /// The label the API server sets on every namespace to its name.
    public static let nameLabel = "kubernetes.io/metadata.name"

    /// Name and labels.
    public var metadata: ObjectMeta

    /// A namespace from its metadata.
    public init(metadata: ObjectMeta) { self.metadata = metadata }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        _ = try c.decodeIfPresent(String.self, forKey: .kind)
        _ = try c.decodeIfPresent(JSONValue.self, forKey: .spec)
        _ = try c.decodeIfPresent(JSONValue.self, forKey: .status)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.apiVersion, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
    }

    /// The namespace as the API server stores it: with the label `kubernetes.io/metadata.name`
    /// set to its name (the API server has set it on every namespace since Kubernetes 1.21).
    public func withAPIServerDefaults() -> KubernetesNamespace {
        var copy = self
        if let name = metadata.name, !name.isEmpty {
            var labels = copy.metadata.labels ?? [:]
            labels[Self.nameLabel] = name
            copy.metadata.labels = labels
        }
        return copy
    }
}

/// A Kubernetes v1 ServiceAccount; only its metadata matters to Calico (its labels become `pcsa.` labels).
public struct KubernetesServiceAccount: Codable, Sendable, Hashable {
    /// `v1`.
    public static let apiVersion = "v1"
    /// `ServiceAccount`.
    public static let kind = "ServiceAccount"

    /// Name, namespace and labels.
    public var metadata: ObjectMeta

    /// A service account from its metadata.
    public init(metadata: ObjectMeta) { self.metadata = metadata }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, secrets, imagePullSecrets, automountServiceAccountToken
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        _ = try c.decodeIfPresent(String.self, forKey: .kind)
        _ = try c.decodeIfPresent(JSONValue.self, forKey: .secrets)
        _ = try c.decodeIfPresent(JSONValue.self, forKey: .imagePullSecrets)
        _ = try c.decodeIfPresent(Bool.self, forKey: .automountServiceAccountToken)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.apiVersion, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
    }
}
