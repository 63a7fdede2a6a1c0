/// Calico's policy defaulting (`api/pkg/defaults`), shared by NetworkPolicy and GlobalNetworkPolicy.
enum PolicyDefaults {
    /// The tier of a policy that names none.
    static let defaultTier = "default"

    static func apply(
        tier: inout String?, types: inout [PolicyType]?, metadata: inout ObjectMeta,
        ingress: [Rule]?, egress: [Rule]?
    ) {
        if tier?.isEmpty ?? true { tier = defaultTier }
        if types?.isEmpty ?? true { types = inferredTypes(ingress: ingress, egress: egress) }
        metadata.labels = (metadata.labels ?? [:]).merging([CalicoLabel.tier: tier ?? defaultTier]) { $1 }
    }

    /// No egress rules → `[Ingress]` (even with no ingress rules either); egress rules only →
    /// `[Egress]`; both → `[Ingress, Egress]`.
    static func inferredTypes(ingress: [Rule]?, egress: [Rule]?) -> [PolicyType] {
        if egress?.isEmpty ?? true { return [.ingress] }
        if ingress?.isEmpty ?? true { return [.egress] }
        return [.ingress, .egress]
    }
}
