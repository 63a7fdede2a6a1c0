/// The match criteria of a rule for one end of the traffic: the source or the destination.
///
/// All the criteria given must match. Members are in Calico's order.
public struct EntityRule: Codable, Sendable, Hashable {
    /// Match addresses in any of these CIDRs.
    public var nets: [String]?
    /// Match endpoints whose labels match this selector.
    public var selector: String?
    /// Match endpoints in namespaces whose labels match this selector; `global()` selects
    /// non-namespaced entities (host endpoints, global network sets).
    public var namespaceSelector: String?
    /// Match the endpoints of a Kubernetes service.
    public var services: ServiceMatch?
    /// Match any of these ports (numbers, ranges, names).
    public var ports: [Port]?
    /// Match addresses in none of these CIDRs.
    public var notNets: [String]?
    /// Match traffic not from (to) endpoints that match this selector.
    public var notSelector: String?
    /// Match none of these ports.
    public var notPorts: [Port]?
    /// Match pods running as these service accounts.
    public var serviceAccounts: ServiceAccountMatch?

    /// Criteria from their parts; every part is optional.
    public init(
        nets: [String]? = nil, selector: String? = nil, namespaceSelector: String? = nil,
        services: ServiceMatch? = nil, ports: [Port]? = nil, notNets: [String]? = nil,
        notSelector: String? = nil, notPorts: [Port]? = nil, serviceAccounts: ServiceAccountMatch? = nil
    ) {
        self.nets = nets
        self.selector = selector
        self.namespaceSelector = namespaceSelector
        self.services = services
        self.ports = ports
        self.notNets = notNets
        self.notSelector = notSelector
        self.notPorts = notPorts
        self.serviceAccounts = serviceAccounts
    }

    /// Whether no criterion is set (Calico omits such an entity rule from JSON).
    public var isEmpty: Bool { self == EntityRule() }
}

/// A Kubernetes service to match, by name and namespace.
public struct ServiceMatch: Codable, Sendable, Hashable {
    /// The service name (required).
    public var name: String?
    /// The service namespace; empty means the policy's namespace (required in a global policy).
    public var namespace: String?

    /// A service match.
    public init(name: String? = nil, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }
}

/// Service accounts to match: by name, by label selector, or both (ANDed).
public struct ServiceAccountMatch: Codable, Sendable, Hashable {
    /// Match service accounts with any of these names.
    public var names: [String]?
    /// Match service accounts whose labels match this selector.
    public var selector: String?

    /// A service account match.
    public init(names: [String]? = nil, selector: String? = nil) {
        self.names = names
        self.selector = selector
    }
}
