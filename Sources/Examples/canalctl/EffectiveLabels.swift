import CanalModel

/// The labels a selector sees on an endpoint.
enum EffectiveLabels {
    /// The endpoint's own labels, then the labels Calico adds, then its profiles' `labelsToApply` in order
    /// (the first one to set a key wins); nil for resources that are not endpoints.
    static func of(_ resource: any AnyResource, profiles: [String: Profile]) -> [String: String]? {
        var labels: [String: String]
        var profileNames: [String]
        switch resource {
        case let wep as WorkloadEndpoint:
            labels = wep.metadata.labels ?? [:]
            if let ns = wep.metadata.namespace { labels["projectcalico.org/namespace"] = labels["projectcalico.org/namespace"] ?? ns }
            profileNames = wep.spec.profiles ?? []
        case let hep as HostEndpoint:
            labels = hep.metadata.labels ?? [:]
            profileNames = hep.spec.profiles ?? []
        default:
            return nil
        }
        for name in profileNames {
            for (k, v) in profiles[name]?.spec.labelsToApply ?? [:] where labels[k] == nil {
                labels[k] = v
            }
        }
        return labels
    }
}
