/// The spec of a Profile: rules applied after all tiers to the endpoints that list the profile,
/// and labels those endpoints inherit.
public struct ProfileSpec: ResourceSpec {
    public static var kind: ResourceKind { .profile }

    /// Ingress rules, in order (at most 1024).
    public var ingress: [Rule]?
    /// Egress rules, in order (at most 1024).
    public var egress: [Rule]?
    /// Labels every endpoint listing this profile inherits (its own labels take precedence).
    public var labelsToApply: [String: String]?

    /// A profile spec from its parts.
    public init(ingress: [Rule]? = nil, egress: [Rule]? = nil, labelsToApply: [String: String]? = nil) {
        self.ingress = ingress
        self.egress = egress
        self.labelsToApply = labelsToApply
    }

    /// The rules of each rule (see ``Rule``), at most 1024 per direction, and label rules for `labelsToApply`.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let spec = resource.spec
        if let ingress = spec.ingress { PolicyValidation.ruleList(ingress, at: "spec.ingress", into: &v) }
        if let egress = spec.egress { PolicyValidation.ruleList(egress, at: "spec.egress", into: &v) }
        v.labels(spec.labelsToApply, at: "spec.labelsToApply")
    }
}
