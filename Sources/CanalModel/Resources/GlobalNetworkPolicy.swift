/// The spec of a GlobalNetworkPolicy: ordered ingress and egress rules applied, within a tier, to
/// the endpoints of any namespace, and to host endpoints, that its selectors pick.
public struct GlobalNetworkPolicySpec: ResourceSpec {
    public static var kind: ResourceKind { .globalNetworkPolicy }

    /// The tier the policy belongs to; `default` when omitted (filled in by ``applyDefaults(to:)``).
    public var tier: String?
    /// The order within the tier; lower goes first, nil goes last.
    public var order: Double?
    /// Ingress rules, in order (at most 1024).
    public var ingress: [Rule]?
    /// Egress rules, in order (at most 1024).
    public var egress: [Rule]?
    /// The endpoints the policy applies to; empty selects all endpoints.
    public var selector: String?
    /// The directions the policy applies to (1–2 distinct); inferred from the rules when empty.
    public var types: [PolicyType]?
    /// Apply before connection tracking and mark allowed packets untracked; requires `applyOnForward`.
    public var doNotTrack: Bool
    /// Apply before DNAT (host endpoints); requires `applyOnForward`, excludes `doNotTrack` and egress.
    public var preDNAT: Bool
    /// Also apply to traffic forwarded through host endpoints.
    public var applyOnForward: Bool
    /// Further restricts the endpoints to pods running as matching service accounts.
    public var serviceAccountSelector: String?
    /// Further restricts the endpoints to namespaces whose labels match.
    public var namespaceSelector: String?
    /// Hints for the policy engine.
    public var performanceHints: [PolicyPerformanceHint]?

    /// A policy spec from its parts.
    public init(
        tier: String? = nil, order: Double? = nil, ingress: [Rule]? = nil, egress: [Rule]? = nil,
        selector: String? = nil, types: [PolicyType]? = nil, doNotTrack: Bool = false, preDNAT: Bool = false,
        applyOnForward: Bool = false, serviceAccountSelector: String? = nil, namespaceSelector: String? = nil,
        performanceHints: [PolicyPerformanceHint]? = nil
    ) {
        self.tier = tier
        self.order = order
        self.ingress = ingress
        self.egress = egress
        self.selector = selector
        self.types = types
        self.doNotTrack = doNotTrack
        self.preDNAT = preDNAT
        self.applyOnForward = applyOnForward
        self.serviceAccountSelector = serviceAccountSelector
        self.namespaceSelector = namespaceSelector
        self.performanceHints = performanceHints
    }

    /// Sets `tier` to `default` when empty, infers `types` when empty, and sets the
    /// `projectcalico.org/tier` label, as Calico's defaulting does.
    public static func applyDefaults(to resource: inout Resource<Self>) {
        PolicyDefaults.apply(
            tier: &resource.spec.tier, types: &resource.spec.types, metadata: &resource.metadata,
            ingress: resource.spec.ingress, egress: resource.spec.egress)
    }

    /// Every spec rule (see ``Rule``) and the rules tying
    /// `preDNAT`, `doNotTrack` and `applyOnForward`.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let spec = resource.spec
        let p = PolicyValidation(global: true)
        p.common(
            tier: spec.tier, order: spec.order, ingress: spec.ingress, egress: spec.egress,
            selector: spec.selector, types: spec.types, serviceAccountSelector: spec.serviceAccountSelector,
            performanceHints: spec.performanceHints, into: &v)
        p.policySelector(spec.namespaceSelector, at: "spec.namespaceSelector", into: &v)
        if spec.preDNAT && spec.doNotTrack {
            v.report("spec.preDNAT", "preDNAT and doNotTrack cannot both be true")
        }
        if (spec.preDNAT || spec.doNotTrack) && !spec.applyOnForward {
            v.report("spec.applyOnForward", "applyOnForward must be true if either preDNAT or doNotTrack is true")
        }
        if spec.preDNAT {
            if let egress = spec.egress, !egress.isEmpty {
                v.report("spec.egress", "preDNAT policy cannot have any egress rules")
            }
            if let types = spec.types, let i = types.firstIndex(of: .egress) {
                v.report(FieldPath("spec.types")[i], "preDNAT policy cannot have 'Egress' type")
            }
        }
    }
}

extension GlobalNetworkPolicySpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case tier, order, ingress, egress, selector, types, doNotTrack, preDNAT, applyOnForward
        case serviceAccountSelector, namespaceSelector, performanceHints
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tier = try c.decodeIfPresent(String.self, forKey: .tier)
        order = try c.decodeIfPresent(Double.self, forKey: .order)
        ingress = try c.decodeIfPresent([Rule].self, forKey: .ingress)
        egress = try c.decodeIfPresent([Rule].self, forKey: .egress)
        selector = try c.decodeIfPresent(String.self, forKey: .selector)
        types = try c.decodeIfPresent([PolicyType].self, forKey: .types)
        doNotTrack = try c.decodeIfPresent(Bool.self, forKey: .doNotTrack) ?? false
        preDNAT = try c.decodeIfPresent(Bool.self, forKey: .preDNAT) ?? false
        applyOnForward = try c.decodeIfPresent(Bool.self, forKey: .applyOnForward) ?? false
        serviceAccountSelector = try c.decodeIfPresent(String.self, forKey: .serviceAccountSelector)
        namespaceSelector = try c.decodeIfPresent(String.self, forKey: .namespaceSelector)
        performanceHints = try c.decodeIfPresent([PolicyPerformanceHint].self, forKey: .performanceHints)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(tier, forKey: .tier)
        try c.encodeIfPresent(order, forKey: .order)
        try c.encodeIfPresent(ingress, forKey: .ingress)
        try c.encodeIfPresent(egress, forKey: .egress)
        try c.encodeIfPresent(selector, forKey: .selector)
        try c.encodeIfPresent(types, forKey: .types)
        if doNotTrack { try c.encode(true, forKey: .doNotTrack) }
        if preDNAT { try c.encode(true, forKey: .preDNAT) }
        if applyOnForward { try c.encode(true, forKey: .applyOnForward) }
        try c.encodeIfPresent(serviceAccountSelector, forKey: .serviceAccountSelector)
        try c.encodeIfPresent(namespaceSelector, forKey: .namespaceSelector)
        try c.encodeIfPresent(performanceHints, forKey: .performanceHints)
    }
}
