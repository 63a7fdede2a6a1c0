/// Label keys Calico itself sets on resources.
public enum CalicoLabel {
    /// The tier of a policy: `projectcalico.org/tier`, set on every NetworkPolicy and GlobalNetworkPolicy.
    public static let tier = "projectcalico.org/tier"
    /// The namespace of a workload endpoint: `projectcalico.org/namespace`.
    public static let namespace = "projectcalico.org/namespace"
    /// The orchestrator of a workload endpoint: `projectcalico.org/orchestrator`.
    public static let orchestrator = "projectcalico.org/orchestrator"
}
