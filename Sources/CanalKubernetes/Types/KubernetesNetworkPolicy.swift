public import CanalModel

/// A Kubernetes `networking.k8s.io/v1` NetworkPolicy: which pods of its namespace it selects, and the
/// traffic it allows to (ingress) and from (egress) them.
public struct KubernetesNetworkPolicy: Codable, Sendable, Hashable {
    /// `networking.k8s.io/v1`.
    public static let apiVersion = "networking.k8s.io/v1"
    /// `NetworkPolicy`.
    public static let kind = "NetworkPolicy"

    /// Name, namespace, labels (Kubernetes' ObjectMeta).
    public var metadata: ObjectMeta
    /// What the policy selects and allows.
    public var spec: Spec

    /// A policy from its parts.
    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// The spec of a NetworkPolicy.
    public struct Spec: Codable, Sendable, Hashable {
        /// The pods of the namespace the policy applies to; empty selects every pod.
        public var podSelector: LabelSelector?
        /// Allowed incoming traffic; each rule allows what matches one of its peers and one of its ports.
        public var ingress: [IngressRule]?
        /// Allowed outgoing traffic.
        public var egress: [EgressRule]?
        /// `Ingress`, `Egress` or both. The API server fills an empty list with `Ingress`, plus
        /// `Egress` when there are egress rules (see ``KubernetesNetworkPolicy/withAPIServerDefaults()``).
        public var policyTypes: [String]?

        /// A spec from its parts.
        public init(podSelector: LabelSelector? = LabelSelector(), ingress: [IngressRule]? = nil,
                    egress: [EgressRule]? = nil, policyTypes: [String]? = nil) {
            self.podSelector = podSelector
            self.ingress = ingress
            self.egress = egress
            self.policyTypes = policyTypes
        }
    }

    /// One ingress rule: traffic from any of `from` (everyone when empty) to any of `ports` (every port when empty).
    public struct IngressRule: Codable, Sendable, Hashable {
        /// The sources allowed.
        public var from: [Peer]?
        /// The destination ports allowed.
        public var ports: [Port]?

        /// An ingress rule.
        public init(from: [Peer]? = nil, ports: [Port]? = nil) {
            self.from = from
            self.ports = ports
        }
    }

    /// One egress rule: traffic to any of `to` (everyone when empty) on any of `ports` (every port when empty).
    public struct EgressRule: Codable, Sendable, Hashable {
        /// The destinations allowed.
        public var to: [Peer]?
        /// The destination ports allowed.
        public var ports: [Port]?

        /// An egress rule.
        public init(to: [Peer]? = nil, ports: [Port]? = nil) {
            self.to = to
            self.ports = ports
        }
    }

    /// A peer: pods (by pod and/or namespace selector) or an IP block, never both.
    ///
    /// A pod selector alone means pods of the policy's namespace; a namespace selector alone means
    /// every pod of the namespaces it selects; both mean the selected pods of the selected namespaces.
    public struct Peer: Codable, Sendable, Hashable {
        /// Pods, by label.
        public var podSelector: LabelSelector?
        /// Namespaces, by label.
        public var namespaceSelector: LabelSelector?
        /// Addresses: a CIDR minus exceptions.
        public var ipBlock: IPBlock?

        /// A peer from its parts.
        public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil) {
            self.podSelector = podSelector
            self.namespaceSelector = namespaceSelector
            self.ipBlock = ipBlock
        }
    }

    /// A CIDR and the CIDRs inside it that are excluded.
    public struct IPBlock: Codable, Sendable, Hashable {
        /// The block, for example `10.0.0.0/8`.
        public var cidr: String
        /// Sub-blocks excluded; each must be a strict subset of `cidr`.
        public var except: [String]?

        /// An IP block.
        public init(cidr: String, except: [String]? = nil) {
            self.cidr = cidr
            self.except = except
        }
    }

    /// A destination port: a protocol (TCP by default) and a port number, a port range
    /// (`port`…`endPort`) or a named container port; no `port` means every port of the protocol.
    public struct Port: Codable, Sendable, Hashable {
        /// `TCP` (the default), `UDP` or `SCTP`.
        public var `protocol`: String?
        /// A number or the name of a container port.
        public var port: IntOrString?
        /// The last port of a range starting at the numeric `port`.
        public var endPort: Int?

        /// A port from its parts.
        public init(protocol: String? = nil, port: IntOrString? = nil, endPort: Int? = nil) {
            self.protocol = `protocol`
            self.port = port
            self.endPort = endPort
        }
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        _ = try c.decodeIfPresent(String.self, forKey: .kind)
        _ = try c.decodeIfPresent(JSONValue.self, forKey: .status)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec(podSelector: nil)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.apiVersion, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(spec, forKey: .spec)
    }

    /// The policy as the API server stores it: an empty `policyTypes` becomes `Ingress`, plus
    /// `Egress` when the policy has egress rules (Kubernetes' `SetDefaults_NetworkPolicy`), and a
    /// port without a protocol gets `TCP`.
    public func withAPIServerDefaults() -> KubernetesNetworkPolicy {
        var copy = self
        if (copy.spec.policyTypes ?? []).isEmpty {
            copy.spec.policyTypes = ["Ingress"] + ((copy.spec.egress ?? []).isEmpty ? [] : ["Egress"])
        }
        func tcp(_ ports: [Port]?) -> [Port]? {
            ports?.map { p in var p = p; if p.protocol == nil { p.protocol = "TCP" }; return p }
        }
        copy.spec.ingress = copy.spec.ingress?.map { IngressRule(from: $0.from, ports: tcp($0.ports)) }
        copy.spec.egress = copy.spec.egress?.map { EgressRule(to: $0.to, ports: tcp($0.ports)) }
        return copy
    }
}
