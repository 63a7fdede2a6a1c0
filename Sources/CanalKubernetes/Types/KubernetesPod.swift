public import CanalModel

/// A Kubernetes v1 Pod, reduced to what Calico reads: labels and annotations, the node, host
/// networking, the service account, container ports, phase and addresses. Other fields of a pod
/// (there are many) are accepted and ignored.
public struct KubernetesPod: Codable, Sendable, Hashable {
    /// `v1`.
    public static let apiVersion = "v1"
    /// `Pod`.
    public static let kind = "Pod"

    /// Name, namespace, labels, annotations.
    public var metadata: ObjectMeta
    /// The parts of the pod's spec Calico reads.
    public var spec: Spec
    /// The parts of the pod's status Calico reads.
    public var status: Status

    /// A pod from its parts.
    public init(metadata: ObjectMeta, spec: Spec = Spec(), status: Status = Status()) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// What Calico reads of a pod's spec.
    public struct Spec: Codable, Sendable, Hashable {
        /// The node the pod is scheduled to; empty until it is scheduled.
        public var nodeName: String?
        /// Whether the pod uses the host's network (then it has no workload endpoint).
        public var hostNetwork: Bool?
        /// The pod's service account.
        public var serviceAccountName: String?
        /// The containers, for their ports.
        public var containers: [Container]?
        /// The init containers, for their ports.
        public var initContainers: [Container]?

        /// A spec from its parts.
        public init(nodeName: String? = nil, hostNetwork: Bool? = nil, serviceAccountName: String? = nil,
                    containers: [Container]? = nil, initContainers: [Container]? = nil) {
            self.nodeName = nodeName
            self.hostNetwork = hostNetwork
            self.serviceAccountName = serviceAccountName
            self.containers = containers
            self.initContainers = initContainers
        }
    }

    /// A container, for its ports.
    public struct Container: Codable, Sendable, Hashable {
        /// The container's name.
        public var name: String?
        /// The ports it exposes.
        public var ports: [ContainerPort]?

        /// A container from its parts.
        public init(name: String? = nil, ports: [ContainerPort]? = nil) {
            self.name = name
            self.ports = ports
        }
    }

    /// A container port: named ports are what NetworkPolicy `port: <name>` refers to.
    public struct ContainerPort: Codable, Sendable, Hashable {
        /// An IANA service name, unique in the pod.
        public var name: String?
        /// The port in the pod.
        public var containerPort: Int
        /// The host port mapped to it.
        public var hostPort: Int?
        /// The host address of the mapping.
        public var hostIP: String?
        /// `TCP` (the default), `UDP` or `SCTP`.
        public var `protocol`: String?

        /// A container port from its parts.
        public init(name: String? = nil, containerPort: Int, hostPort: Int? = nil, hostIP: String? = nil, protocol: String? = nil) {
            self.name = name
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.hostIP = hostIP
            self.protocol = `protocol`
        }
    }

    /// What Calico reads of a pod's status.
    public struct Status: Codable, Sendable, Hashable {
        /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
        public var phase: String?
        /// The primary address.
        public var podIP: String?
        /// Every address (one per family).
        public var podIPs: [PodIP]?

        /// A status from its parts.
        public init(phase: String? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil) {
            self.phase = phase
            self.podIP = podIP
            self.podIPs = podIPs
        }
    }

    /// One address of a pod.
    public struct PodIP: Codable, Sendable, Hashable {
        /// The address.
        public var ip: String

        /// An address.
        public init(ip: String) { self.ip = ip }
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        _ = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decodeIfPresent(Spec.self, forKey: .spec) ?? Spec()
        status = try c.decodeIfPresent(Status.self, forKey: .status) ?? Status()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.apiVersion, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(spec, forKey: .spec)
        try c.encode(status, forKey: .status)
    }
}
