/// The spec of the cluster information resource (always named `default`): facts about the
/// installation that Calico components write and read.
public struct ClusterInformationSpec: ResourceSpec {
    public static var kind: ResourceKind { .clusterInformation }

    /// The cluster's unique id, generated at install time.
    public var clusterGUID: String
    /// The kind of cluster, for example `k8s,bgp,kubeadm`.
    public var clusterType: String
    /// The Calico version running in the cluster.
    public var calicoVersion: String
    /// Whether the datastore is ready; false asks components to wait (during migrations).
    public var datastoreReady: Bool?
    /// Which Calico variant is active (`Calico`, …).
    public var variant: String

    /// A cluster information spec.
    public init(
        clusterGUID: String = "", clusterType: String = "", calicoVersion: String = "",
        datastoreReady: Bool? = nil, variant: String = ""
    ) {
        self.clusterGUID = clusterGUID
        self.clusterType = clusterType
        self.calicoVersion = calicoVersion
        self.datastoreReady = datastoreReady
        self.variant = variant
    }

    private enum CodingKeys: String, CodingKey {
        case clusterGUID, clusterType, calicoVersion, datastoreReady, variant
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clusterGUID = try c.decodeOrZero(String.self, forKey: .clusterGUID)
        clusterType = try c.decodeOrZero(String.self, forKey: .clusterType)
        calicoVersion = try c.decodeOrZero(String.self, forKey: .calicoVersion)
        datastoreReady = try c.decodeIfPresent(Bool.self, forKey: .datastoreReady)
        variant = try c.decodeOrZero(String.self, forKey: .variant)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeUnlessZero(clusterGUID, forKey: .clusterGUID)
        try c.encodeUnlessZero(clusterType, forKey: .clusterType)
        try c.encodeUnlessZero(calicoVersion, forKey: .calicoVersion)
        try c.encodeIfPresent(datastoreReady, forKey: .datastoreReady)
        try c.encodeUnlessZero(variant, forKey: .variant)
    }
}
