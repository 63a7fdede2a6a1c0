extension ObjectMeta {
    /// Reports the metadata rules every kind shares, and each kind's naming rule.
    ///
    /// - A name is required (Canal validates what is about to be created or updated); `generateName`
    ///   is not supported.
    /// - Names are DNS-1123 subdomains of at most 253 bytes, except: NetworkPolicy
    ///   (`L`, `L.L`, or `knp.default.<subdomain>` / `ossg.default.<subdomain>`), GlobalNetworkPolicy
    ///   (`L` or `L.L`), Tier (a DNS label of at most 63 bytes) and ClusterInformation (only `default`),
    ///   where L is a DNS label.
    /// - Namespaced kinds need a namespace (a DNS label); other kinds ignore it, as Calico does.
    /// - Label keys are Kubernetes qualified names and values label values; annotation keys are
    ///   qualified names once lower-cased, and all annotations together are at most 256 KiB.
    public func validate(for kind: ResourceKind, into v: inout Validator) {
        let path = FieldPath("metadata")
        let name = self.name ?? ""
        if name.isEmpty {
            let hint = (generateName ?? "").isEmpty ? "" : " (generateName is not supported)"
            v.report(path["name"], "a name is required" + hint)
        } else {
            Self.validateName(name, for: kind, at: path["name"], into: &v)
        }
        if let generateName, !generateName.isEmpty {
            v.report(path["generateName"], "generateName is not supported; set metadata.name")
        }
        if kind.isNamespaced {
            if let ns = namespace, !ns.isEmpty {
                v.dnsLabel(ns, at: path["namespace"])
            } else {
                v.report(path["namespace"], "a namespace is required for a \(kind.name)")
            }
        }
        v.labels(labels, at: path["labels"])
        v.annotations(annotations, at: path["annotations"])
    }

    /// A DNS label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
    private static func isLabel(_ s: Substring) -> Bool { NameRules.isDNSLabel(s, max: 253) }

    private static func validateName(_ name: String, for kind: ResourceKind, at path: FieldPath, into v: inout Validator) {
        let tooLong = name.utf8.count > 253
        switch kind {
        case .networkPolicy:
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            let simple = parts.count <= 2 && parts.allSatisfy(isLabel)
            let prefixed = parts.count >= 3 && (parts[0] == "knp" || parts[0] == "ossg") && parts[1] == "default"
                && parts[2...].allSatisfy(isLabel)
            if tooLong || !(simple || prefixed) {
                v.report(path, "\"\(name)\" is not a valid NetworkPolicy name: a DNS label, two DNS labels joined by '.', or knp.default.<name> / ossg.default.<name>, at most 253 characters")
            }
        case .globalNetworkPolicy:
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if tooLong || parts.count > 2 || !parts.allSatisfy(isLabel) {
                v.report(path, "\"\(name)\" is not a valid GlobalNetworkPolicy name: a DNS label, or two DNS labels joined by '.', at most 253 characters")
            }
        case .tier:
            v.dnsLabel(name, at: path)
        case .clusterInformation:
            v.check(name == "default", path, "the ClusterInformation must be named \"default\", not \"\(name)\"")
        default:
            v.name(name, at: path)
        }
    }
}
