/// The Calico v3 kinds Canal models, with their names as calicoctl and etcd spell them.
public enum ResourceKind: String, Sendable, Hashable, CaseIterable, Codable {
    case workloadEndpoint = "WorkloadEndpoint"
    case hostEndpoint = "HostEndpoint"
    case profile = "Profile"
    case networkPolicy = "NetworkPolicy"
    case globalNetworkPolicy = "GlobalNetworkPolicy"
    case tier = "Tier"
    case networkSet = "NetworkSet"
    case globalNetworkSet = "GlobalNetworkSet"
    case ipPool = "IPPool"
    case ipReservation = "IPReservation"
    case bgpConfiguration = "BGPConfiguration"
    case bgpPeer = "BGPPeer"
    case node = "Node"
    case felixConfiguration = "FelixConfiguration"
    case clusterInformation = "ClusterInformation"

    /// The kind as written in manifests (`NetworkPolicy`).
    public var name: String { rawValue }

    /// The kind from its manifest name (exact, case-sensitive, as in `kind:`).
    public init?(name: String) { self.init(rawValue: name) }

    /// Whether resources of this kind live in a namespace.
    public var isNamespaced: Bool {
        switch self {
        case .workloadEndpoint, .networkPolicy, .networkSet: true
        default: false
        }
    }

    /// The plural used in etcd keys (`/calico/resources/v3/projectcalico.org/<plural>/…`).
    public var plural: String {
        switch self {
        case .networkPolicy: "networkpolicies"
        case .globalNetworkPolicy: "globalnetworkpolicies"
        default: rawValue.lowercased() + "s"
        }
    }

    /// Every name calicoctl accepts for this kind on its command line (singular, plural, short forms).
    public var commandLineNames: [String] {
        let singular = rawValue.lowercased()
        let extra: [String] = switch self {
        case .workloadEndpoint: ["wep", "weps"]
        case .hostEndpoint: ["hep", "heps"]
        case .profile: ["pro", "pros"]
        case .networkPolicy: ["policy", "policies", "np", "nps", "pol", "pols"]
        case .globalNetworkPolicy: ["gnp", "gnps"]
        case .tier: []
        case .networkSet: ["netset", "netsets"]
        case .globalNetworkSet: ["gns", "globalnetsets"]
        case .ipPool: ["ipp", "ipps", "pool", "pools"]
        case .ipReservation: ["ipr", "iprs"]
        case .bgpConfiguration: ["bgpconfig", "bgpconfigs"]
        case .bgpPeer: ["bgpp", "bgpps", "bp", "bps"]
        case .node: ["no", "nos"]
        case .felixConfiguration: ["felixconfig", "felixconfigs"]
        case .clusterInformation: ["clusterinfo", "clusterinfos"]
        }
        return [singular, plural] + extra
    }

    /// The kind named on a command line: any of ``commandLineNames``, case-insensitive.
    public init?(commandLineName: String) {
        let n = commandLineName.lowercased()
        guard let k = ResourceKind.allCases.first(where: { $0.commandLineNames.contains(n) }) else { return nil }
        self = k
    }
}
