/// The spec of a Tier: a group of policies evaluated in order; a tier's verdict is final unless a
/// rule passes to the next tier.
public struct TierSpec: ResourceSpec {
    public static var kind: ResourceKind { .tier }

    /// The order among tiers; lower goes first. Nil is read as 1,000,000 (filled in by ``applyDefaults(to:)``).
    public var order: Double?
    /// What happens to traffic a policy of the tier selects but no rule decides: `Deny` (the default) or `Pass`.
    public var defaultAction: Action?

    /// A tier spec from its parts.
    public init(order: Double? = nil, defaultAction: Action? = nil) {
        self.order = order
        self.defaultAction = defaultAction
    }

    /// The order Calico gives a tier that has none, and the order of the `default` tier: 1,000,000.
    public static let defaultOrder: Double = 1_000_000

    /// The name of the tier policies without a tier belong to.
    public static let defaultTierName = "default"

    /// The built-in tiers Calico creates and protects, with their fixed specs: `kube-admin`
    /// (order 1,000, Pass), `default` (1,000,000, Deny) and `kube-baseline` (10,000,000, Pass).
    public static let builtInTiers: [(name: String, spec: TierSpec)] = [
        ("kube-admin", TierSpec(order: 1_000, defaultAction: .pass)),
        ("default", TierSpec(order: 1_000_000, defaultAction: .deny)),
        ("kube-baseline", TierSpec(order: 10_000_000, defaultAction: .pass)),
    ]

    /// The fixed spec of a built-in tier, or nil for any other name.
    public static func builtIn(named name: String) -> TierSpec? {
        builtInTiers.first { $0.name == name }?.spec
    }

    /// A nil order becomes 1,000,000 and a nil default action `Deny` (Calico's `DefaultTierFields`,
    /// applied on create, update and list).
    public static func applyDefaults(to resource: inout Resource<Self>) {
        if resource.spec.order == nil { resource.spec.order = defaultOrder }
        if resource.spec.defaultAction == nil { resource.spec.defaultAction = .deny }
    }

    /// The default action is Deny or Pass; the
    /// built-in tiers keep their fixed order and default action.
    public static func validate(_ resource: Resource<Self>, into v: inout Validator) {
        let name = resource.metadata.name ?? ""
        let spec = resource.spec
        if let order = spec.order, !order.isFinite { v.report("spec.order", "order must be a finite number") }
        if let action = spec.defaultAction, action != .deny, action != .pass {
            v.report("spec.defaultAction", "defaultAction must be Deny or Pass, found \(action.rawValue)")
        }
        if let fixed = builtIn(named: name) {
            // The CRD defaults a missing defaultAction to Deny before its rules run.
            let action = spec.defaultAction ?? .deny
            if action != fixed.defaultAction {
                v.report("spec.defaultAction", "the '\(name)' tier must have default action '\(fixed.defaultAction!.rawValue)'")
            }
            if spec.order != fixed.order {
                v.report("spec.order", "\(name) tier order must be \(Int(fixed.order!))")
            }
        }
    }
}
