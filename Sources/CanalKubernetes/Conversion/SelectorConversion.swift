internal import CanalModel

/// Kubernetes label selectors in Calico's selector language, exactly as libcalico-go's
/// `k8sSelectorToCalico` writes them.
enum SelectorConversion {
    /// Whether a selector picks pods (prefixed with `projectcalico.org/orchestrator == 'k8s'`) or namespaces.
    enum Target { case pods, namespaces }

    /// The Calico selector for `selector`:
    /// - pods: `projectcalico.org/orchestrator == 'k8s'`, then the terms, joined with ` && ` (a nil
    ///   selector gives the prefix alone);
    /// - namespaces: nil gives the empty string (no namespace selector: the policy's own
    ///   namespace), an empty selector gives `all()`, otherwise the terms.
    ///
    /// Terms: `matchLabels` sorted by key as `key == 'value'`; then `matchExpressions` in order as
    /// `key in { 'a', 'b' }`, `key not in { 'a', 'b' }`, `has(key)`, `! has(key)`.
    static func calico(_ selector: LabelSelector?, _ target: Target) -> String {
        var terms: [String] = []
        if target == .pods { terms.append("\(CalicoLabel.orchestrator) == 'k8s'") }
        guard let selector else { return terms.joined(separator: " && ") }
        if target == .namespaces, selector.isEmpty { return "all()" }
        let labels = selector.matchLabels ?? [:]
        for key in labels.keys.sorted() { terms.append("\(key) == '\(labels[key]!)'") }
        for e in selector.matchExpressions ?? [] {
            let values = (e.values ?? []).joined(separator: "', '")
            switch e.operator {
            case "In": terms.append("\(e.key) in { '\(values)' }")
            case "NotIn": terms.append("\(e.key) not in { '\(values)' }")
            case "Exists": terms.append("has(\(e.key))")
            case "DoesNotExist": terms.append("! has(\(e.key))")
            default: break  // rejected by validation before conversion
            }
        }
        return terms.joined(separator: " && ")
    }
}
