/// The spec of a HostEndpoint: an interface (or the addresses) of a host that policy protects.
public struct HostEndpointSpec: ResourceSpec {
    public static var kind: ResourceKind { .hostEndpoint }

    /// The node the interface belongs to (required).
    public var node: String?
    /// The interface name, or `*` for all of the host's interfaces.
    public var interfaceName: String?
    /// The addresses the host expects on the interface; selectors of rules resolve to these.
    public var expectedIPs: [String]?
    /// Profiles applied after policy, in order.
    public var profiles: [String]?
    /// Named ports that rules can refer to.
    public var ports: [EndpointPort]?

    /// A host endpoint spec from its parts.
    public init(
        node: String? = nil, interfaceName: String? = nil, expectedIPs: [String]? = nil,
        profiles: [String]? = nil, ports: [EndpointPort]? = nil
    ) {
        self.node = node
        self.interfaceName = interfaceName
        self.expectedIPs = expectedIPs
        self.profiles = profiles
        self.ports = ports
    }

    /// `node` is required; `interfaceName` or `expectedIPs` is required; addresses, profile names
    /// and named ports (Kubernetes port name, TCP/UDP/SCTP, 1–65535) are checked.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let spec = resource.spec
        if let node = spec.node, !node.isEmpty {
            v.name(node, at: "spec.node")
        } else {
            v.report("spec.node", "node must be specified")
        }
        let interfaceName = spec.interfaceName ?? ""
        if !interfaceName.isEmpty { v.interfaceName(interfaceName, at: "spec.interfaceName") }
        if interfaceName.isEmpty, spec.expectedIPs?.isEmpty ?? true {
            v.report("spec.interfaceName", "at least one of interfaceName or expectedIPs must be specified")
        }
        for (i, ip) in (spec.expectedIPs ?? []).enumerated() { v.ip(ip, at: FieldPath("spec.expectedIPs")[i]) }
        for (i, p) in (spec.profiles ?? []).enumerated() { v.name(p, at: FieldPath("spec.profiles")[i]) }
        for (i, port) in (spec.ports ?? []).enumerated() {
            let path = FieldPath("spec.ports")[i]
            if port.name.isEmpty {
                v.report(path["name"], "a named port must have a name")
            } else {
                v.portName(port.name, at: path["name"])
            }
            EndpointPortRules.portProtocol(port.protocol, at: path["protocol"], into: &v)
            if port.port == 0 { v.report(path["port"], "port must be 1-65535") }
        }
    }
}
