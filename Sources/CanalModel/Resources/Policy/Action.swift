/// What a rule does with the traffic it matches, or what a tier does with traffic no rule decided.
public enum Action: String, CalicoEnum {

    /// Accept the packet.
    case allow = "Allow"
    /// Drop the packet.
    case deny = "Deny"
    /// Log the packet and continue with the next rule.
    case log = "Log"
    /// Skip the rest of the tier and go on to the next tier (or the profiles).
    case pass = "Pass"
}

/// The direction a policy applies to.
public enum PolicyType: String, CalicoEnum {

    /// Traffic arriving at the selected endpoints.
    case ingress = "Ingress"
    /// Traffic leaving the selected endpoints.
    case egress = "Egress"
}

/// A hint to the policy engine that never changes enforcement.
public enum PolicyPerformanceHint: String, CalicoEnum {

    /// Act as if the policy selects a local endpoint on every node (preload it).
    case assumeNeededOnEveryNode = "AssumeNeededOnEveryNode"
}
