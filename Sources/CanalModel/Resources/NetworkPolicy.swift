/// The spec of a NetworkPolicy: ordered ingress and egress rules applied, within a tier, to the
/// endpoints of one namespace that its selector picks.
public struct NetworkPolicySpec: ResourceSpec {
    public static var kind: ResourceKind { .networkPolicy }

    /// The tier the policy belongs to; `default` when omitted (filled in by ``applyDefaults(to:)``).
    public var tier: String?
    /// The order within the tier; lower goes first, nil goes last.
    public var order: Double?
    /// Ingress rules, in order (at most 1024).
    public var ingress: [Rule]?
    /// Egress rules, in order (at most 1024).
    public var egress: [Rule]?
    /// The endpoints the policy applies to; empty selects all endpoints of the namespace.
    public var selector: String?
    /// The directions the policy applies to (1–2 distinct); inferred from the rules when empty.
    public var types: [PolicyType]?
    /// Further restricts the endpoints to pods running as matching service accounts.
    public var serviceAccountSelector: String?
    /// Hints for the policy engine.
    public var performanceHints: [PolicyPerformanceHint]?

    /// A policy spec from its parts.
    public init(
        tier: String? = nil, order: Double? = nil, ingress: [Rule]? = nil, egress: [Rule]? = nil,
        selector: String? = nil, types: [PolicyType]? = nil, serviceAccountSelector: String? = nil,
        performanceHints: [PolicyPerformanceHint]? = nil
    ) {
        self.tier = tier
        self.order = order
        self.ingress = ingress
        self.egress = egress
        self.selector = selector
        self.types = types
        self.serviceAccountSelector = serviceAccountSelector
        self.performanceHints = performanceHints
    }

    /// Sets `tier` to `default` when empty, infers `types` when empty, and sets the
    /// `projectcalico.org/tier` label, as Calico's defaulting does.
    public static func applyDefaults(to resource: inout Resource<Self>) {
        PolicyDefaults.apply(
            tier: &resource.spec.tier, types: &resource.spec.types, metadata: &resource.metadata,
            ingress: resource.spec.ingress, egress: resource.spec.egress)
    }

    /// Every spec rule (see ``Rule``); the name rule is checked with the metadata.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let spec = resource.spec
        let p = PolicyValidation(global: false)
        p.common(
            tier: spec.tier, order: spec.order, ingress: spec.ingress, egress: spec.egress,
            selector: spec.selector, types: spec.types, serviceAccountSelector: spec.serviceAccountSelector,
            performanceHints: spec.performanceHints, into: &v)
    }
}
