import CanalModel

/// An endpoint: a workload endpoint (by namespace and name) or a host endpoint (by name).
public enum EndpointID: Sendable, Hashable, Comparable, CustomStringConvertible {
    case workload(namespace: String, name: String)
    case host(name: String)

    /// `namespace/name` or the host endpoint's name.
    public var description: String {
        switch self {
        case .workload(let ns, let name): "\(ns)/\(name)"
        case .host(let name): name
        }
    }
}

/// One side of a resolved rule: every v3 field turned into CIDRs, IP set ids and ports.
struct ResolvedEntity: Sendable, Hashable {
    var nets: [CIDR] = []
    var notNets: [CIDR] = []
    /// The positive selector's set (notSelector folded in when both are given).
    var selectorSet: String?
    /// The notSelector's own set, when there is no positive selector.
    var notSelectorSet: String?
    var ports: [PortRange] = []
    var namedPortSets: [String] = []
    var notPorts: [PortRange] = []
    var notNamedPortSets: [String] = []
}

/// An ICMP type with an optional code.
struct ICMPMatch: Sendable, Hashable {
    var type: UInt8
    var code: UInt8?
}

/// A rule after selector rewriting and IP set assignment.
struct ResolvedRule: Sendable, Hashable {
    /// The rule's index in its policy's (or profile's) direction.
    var index: Int
    var action: Action
    var ipVersion: IPAddress.Family?
    var proto: IPProtocol?
    var notProto: IPProtocol?
    var icmp: ICMPMatch?
    var notICMP: ICMPMatch?
    var source = ResolvedEntity()
    var destination = ResolvedEntity()

    /// Felix's per-family filter: whether the rule exists in `family`'s rule set at all, and
    /// its nets restricted to that family.
    func restricted(to family: IPAddress.Family) -> ResolvedRule? {
        if let ipVersion, ipVersion != family { return nil }
        if let proto {
            if proto.number == 1, family == .v6 { return nil }
            if proto.number == 58, family == .v4 { return nil }
        }
        var copy = self
        func filter(_ nets: [CIDR]) -> [CIDR]? {
            let kept = nets.filter { $0.family == family }
            return !nets.isEmpty && kept.isEmpty ? nil : kept
        }
        guard let a = filter(source.nets), let b = filter(source.notNets),
              let c = filter(destination.nets), let d = filter(destination.notNets) else { return nil }
        copy.source.nets = a
        copy.source.notNets = b
        copy.destination.nets = c
        copy.destination.notNets = d
        return copy
    }
}

/// A policy's rules and where it applies.
struct ResolvedPolicy: Sendable, Hashable {
    var id: PolicyChainID
    /// `GlobalNetworkPolicy` or `NetworkPolicy`.
    var kindName: String
    /// `name` or `namespace/name`.
    var displayName: String
    var tier: String
    var ingress: [ResolvedRule]
    var egress: [ResolvedRule]
    var untracked = false
    var preDNAT = false
    var applyOnForward = false

    func rules(_ direction: PolicyDirection) -> [ResolvedRule] { direction == .ingress ? ingress : egress }
}

/// A profile's rules.
struct ResolvedProfile: Sendable, Hashable {
    var name: String
    var ingress: [ResolvedRule]
    var egress: [ResolvedRule]

    func rules(_ direction: PolicyDirection) -> [ResolvedRule] { direction == .ingress ? ingress : egress }
}

/// A tier as it applies to one endpoint and direction: the policies that select the endpoint,
/// in order.
struct ResolvedTier: Sendable, Hashable {
    var name: String
    /// Untracked and pre-DNAT tiers, and tiers whose default action is Pass, pass at their end
    /// instead of dropping.
    var passAtEnd: Bool
    var policies: [PolicyChainID]
}

/// Which policies, in which tiers, apply to an endpoint.
struct TierLists: Sendable, Hashable {
    var ingress: [ResolvedTier] = []
    var egress: [ResolvedTier] = []

    subscript(_ direction: PolicyDirection) -> [ResolvedTier] { direction == .ingress ? ingress : egress }
}

/// A local endpoint with its policy.
struct ResolvedEndpoint: Sendable, Hashable {
    var id: EndpointID
    var interface: String
    var addresses: [IPAddress]
    var profiles: [String]
    /// Normal policy (workload ingress/egress; host ingress/egress on INPUT/OUTPUT).
    var tiers: TierLists
    /// Host endpoints: applyOnForward policies, for traffic forwarded through the interface.
    var forwardTiers = TierLists()
    /// Host endpoints: doNotTrack policies (raw table).
    var untrackedTiers = TierLists()
    /// Host endpoints: preDNAT policies (mangle table, ingress only).
    var preDNATTiers = TierLists()

    var isHost: Bool {
        if case .host = id { return true }
        return false
    }
}

/// A logical IP set: members of both families (the rule sets keep their own family's).
struct LogicalIPSet: Sendable, Hashable {
    var id: String
    var isNamedPort: Bool
    var members: Set<IPSetMember>

    /// Whether an address (selector set) is a member.
    func contains(_ address: IPAddress) -> Bool {
        members.contains { member in
            if case .net(let cidr) = member { return cidr.contains(address) }
            return false
        }
    }

    /// Whether (address, protocol, port) is a member (named-port set).
    func contains(_ address: IPAddress, protocol number: UInt8, port: UInt16) -> Bool {
        members.contains(.addressPort(address, IPProtocol(number: number), port))
    }
}

/// The node's view of the cluster: Felix's calculation-graph output, from which both the rule
/// sets and the simulator are computed.
struct ResolvedNode: Sendable, Hashable {
    var node: String
    var configuration: DataplaneConfiguration
    /// Local endpoints with an interface, by interface name.
    var endpoints: [ResolvedEndpoint]
    /// Every endpoint of the cluster with its addresses (to name flows' ends).
    var addresses: [EndpointID: [IPAddress]]
    var policies: [PolicyChainID: ResolvedPolicy]
    var profiles: [String: ResolvedProfile]
    var ipSets: [String: LogicalIPSet]
}

extension IPProtocol {
    /// The protocol of a number, named when it has a name.
    init(number: UInt8) {
        switch number {
        case 6: self = .tcp
        case 17: self = .udp
        case 132: self = .sctp
        case 1: self = .icmp
        case 58: self = .icmpv6
        case 136: self = .udplite
        default: self = .number(number)
        }
    }

    /// The model's protocol value as a match.
    init(_ value: ProtocolValue) { self.init(number: value.protocolNumber) }
}
