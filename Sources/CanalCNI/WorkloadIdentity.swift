public import CanalModel

/// Who a CNI invocation is for, and the names Calico's plugin derives from it: the orchestrator,
/// the WorkloadEndpoint's namespace and name, the host-side interface, the IPAM handle.
public struct WorkloadIdentity: Sendable, Hashable {
    /// `k8s` when `CNI_ARGS` carries `K8S_POD_NAMESPACE` and `K8S_POD_NAME`, else `cni`.
    public var orchestrator: String
    /// The pod's namespace (k8s) or `default`.
    public var namespace: String
    /// The pod's name (k8s only).
    public var pod: String?
    /// `CNI_CONTAINERID`.
    public var containerID: String
    /// `CNI_IFNAME`: the endpoint part of the name.
    public var endpoint: String
    /// The node the workload runs on.
    public var node: String
    /// The network's name (`name` in the config).
    public var network: String

    /// The identity of `invocation` on `node` in the network `network`.
    public init(invocation: CNIInvocation, network: String, node: String) {
        if let ns = invocation.arg("K8S_POD_NAMESPACE"), !ns.isEmpty, let pod = invocation.arg("K8S_POD_NAME"), !pod.isEmpty {
            orchestrator = "k8s"
            namespace = ns
            self.pod = pod
        } else {
            orchestrator = "cni"
            namespace = "default"
            pod = nil
        }
        containerID = invocation.containerID
        endpoint = invocation.ifName
        self.node = node
        self.network = network
    }

    /// The WorkloadEndpoint's name (Calico's rule: `<node>-k8s-<pod>-<ifname>` or
    /// `<node>-cni-<containerID>-<ifname>`, with every `-` inside a part doubled).
    ///
    /// - Throws: ``CNIError`` 7 when a part is unusable (for example it ends with `-`).
    public func endpointName() throws(CNIError) -> String {
        do {
            return try spec().derivedName()
        } catch {
            throw .invalidConfig("cannot name the WorkloadEndpoint", details: error.fieldErrors.map(\.description).joined(separator: "; "))
        }
    }

    /// The IPAM handle Calico's IPAM plugin records the addresses under: `<network>.<containerID>`.
    public var ipamHandle: String { "\(network).\(containerID)" }

    /// The handle older plugins used (released on DEL too): `<namespace>.<pod>` (k8s) or the container id.
    public var legacyIPAMHandle: String {
        if let pod { return "\(namespace).\(pod)" }
        return containerID
    }

    /// The host-side interface name: `prefix` + the first 11 hex digits of SHA-1(`<namespace>.<pod>`)
    /// for k8s, `prefix` + the first 11 characters of the container id otherwise (Calico's
    /// `VethNameForWorkload` and its cni rule). `prefix` is the first of `FELIX_INTERFACEPREFIX`'s
    /// comma-separated values, default `cali`.
    public func hostInterfaceName(prefix: String = "cali") -> String {
        if let pod {
            return prefix + String(hex(sha1(Array("\(namespace).\(pod)".utf8))).prefix(11))
        }
        return prefix + String(containerID.prefix(11))
    }

    /// The attributes stored with the addresses: `node`, `timestamp`, and `namespace`/`pod` for k8s.
    public func ipamAttributes(timestamp: String) -> [String: String] {
        var attributes = ["node": node, "timestamp": timestamp]
        if let pod {
            attributes["namespace"] = namespace
            attributes["pod"] = pod
        }
        return attributes
    }

    /// The profiles of the endpoint: `kns.<namespace>` when k8s policy is configured
    /// (`policy.type: k8s`), else the network's name.
    public func profiles(policyType: String) -> [String] {
        if orchestrator == "k8s", policyType == "k8s" { return ["kns.\(namespace)"] }
        return [network]
    }

    func spec() -> WorkloadEndpointSpec {
        WorkloadEndpointSpec(orchestrator: orchestrator, node: node, containerID: containerID, pod: pod, endpoint: endpoint)
    }

    /// The WorkloadEndpoint Calico's plugin writes for this workload: name, namespace, the labels
    /// Calico's client sets, and the spec (orchestrator, node, containerID, pod, endpoint,
    /// ipNetworks narrowed to /32 or /128, profiles, interfaceName, mac).
    public func workloadEndpoint(addresses: [IPAddress], interfaceName: String, mac: String, profiles: [String]) throws(CNIError) -> WorkloadEndpoint {
        var spec = spec()
        spec.ipNetworks = addresses.map { "\($0)/\($0.family.bitCount)" }
        spec.profiles = profiles
        spec.interfaceName = interfaceName
        spec.mac = mac
        var endpoint = WorkloadEndpoint(metadata: ObjectMeta(name: try endpointName(), namespace: namespace), spec: spec)
        endpoint.setWorkloadEndpointLabels()
        return endpoint
    }

    /// The profile Calico's plugin creates for the network when no policy type is configured and it
    /// does not exist: egress allowed; ingress allowed (k8s) or only from `has(<network>)` (cni);
    /// `labelsToApply: {<network>: ""}`.
    public func networkProfile() -> Profile {
        let ingress: Rule = orchestrator == "k8s"
            ? Rule(action: .allow)
            : Rule(action: .allow, source: EntityRule(selector: "has(\(network))"))
        return Profile(metadata: ObjectMeta(name: network),
                       spec: ProfileSpec(ingress: [ingress], egress: [Rule(action: .allow)], labelsToApply: [network: ""]))
    }
}

/// The routes programmed in the container, all via the host (169.254.1.1 for IPv4, the host
/// interface's link-local address for IPv6), by Calico's rule: under k8s, when the IPAM config
/// lists `routes`, only those (plus the default routes with `include_default_routes`); otherwise
/// a default route per family that has an address.
public func containerRoutes(orchestrator: String, families: Set<IPAddress.Family>, ipamRoutes: [CIDR], includeDefaultRoutes: Bool) -> [CIDR] {
    let defaults = [CIDR("0.0.0.0/0")!, CIDR("::/0")!].filter { families.contains($0.family) }
    guard orchestrator == "k8s", !ipamRoutes.isEmpty else { return defaults }
    var routes = ipamRoutes.filter { families.contains($0.family) }
    if includeDefaultRoutes { routes += defaults.filter { !routes.contains($0) } }
    return routes
}

/// The gateways of the container's routes: Calico's fixed IPv4 next hop, and the link-local
/// address the kernel gives the host interface from its MAC `ee:ee:ee:ee:ee:ee`.
public enum CalicoGateway {
    /// `169.254.1.1`.
    public static let ipv4 = IPAddress("169.254.1.1")!
    /// `fe80::ecee:eeff:feee:eeee`.
    public static let ipv6 = IPAddress("fe80::ecee:eeff:feee:eeee")!
    /// The host interface's MAC.
    public static let hostMAC = "ee:ee:ee:ee:ee:ee"
}
