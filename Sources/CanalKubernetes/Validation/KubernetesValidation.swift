internal import CanalModel

/// The checks the Kubernetes API server makes on the objects Canal converts
/// (`pkg/apis/networking/validation`, `apimachinery/.../validation`), with its field paths and,
/// where it has them, its words ("Unsupported value", "Required value", "Invalid value").
enum KubernetesValidation {
    static func validate(_ object: KubernetesObject) throws(KubernetesError) {
        var v = Validator()
        let kind: String
        let name: String
        switch object {
        case .networkPolicy(let p):
            kind = KubernetesNetworkPolicy.kind
            name = p.metadata.name ?? ""
            objectMeta(p.metadata, namespaced: true, into: &v)
            networkPolicy(p.spec, at: "spec", into: &v)
        case .namespace(let n):
            kind = KubernetesNamespace.kind
            name = n.metadata.name ?? ""
            objectMeta(n.metadata, namespaced: false, dnsLabel: true, into: &v)
        case .serviceAccount(let s):
            kind = KubernetesServiceAccount.kind
            name = s.metadata.name ?? ""
            objectMeta(s.metadata, namespaced: true, into: &v)
        case .pod(let p):
            kind = KubernetesPod.kind
            name = p.metadata.name ?? ""
            objectMeta(p.metadata, namespaced: true, into: &v)
            pod(p, into: &v)
        }
        if !v.errors.isEmpty {
            throw KubernetesError(.invalid, "\(kind) \"\(name)\" is invalid", fieldErrors: v.errors)
        }
    }

    static func objectMeta(_ meta: ObjectMeta, namespaced: Bool, dnsLabel: Bool = false, into v: inout Validator) {
        let path: FieldPath = "metadata"
        let name = meta.name ?? ""
        if name.isEmpty {
            v.report(path["name"], "Required value: name or generateName is required")
        } else if dnsLabel ? !NameRules.isDNSLabel(name) : !NameRules.isDNSSubdomain(name) {
            v.report(path["name"], "Invalid value: \"\(name)\": a lowercase RFC 1123 \(dnsLabel ? "label" : "subdomain") must consist of lower case alphanumeric characters, '-'\(dnsLabel ? "" : " or '.'"), and must start and end with an alphanumeric character")
        }
        if namespaced, let ns = meta.namespace, !NameRules.isDNSLabel(ns) {
            v.report(path["namespace"], "Invalid value: \"\(ns)\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character")
        }
        labels(meta.labels, at: path["labels"], into: &v)
    }

    static func labels(_ labels: [String: String]?, at path: FieldPath, into v: inout Validator) {
        for key in (labels ?? [:]).keys.sorted() {
            if let problem = NameRules.qualifiedNameProblem(key) {
                v.report(path, "Invalid value: \"\(key)\": name part must be \(problem)")
            }
            let value = labels![key]!
            if !NameRules.isLabelValue(value) {
                v.report(path, "Invalid value: \"\(value)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)")
            }
        }
    }

    static func labelSelector(_ s: LabelSelector, at path: FieldPath, into v: inout Validator) {
        for (i, e) in (s.matchExpressions ?? []).enumerated() {
            let p = path["matchExpressions"][i]
            let values = e.values ?? []
            switch e.operator {
            case "In", "NotIn":
                if values.isEmpty { v.report(p["values"], "Required value: must be specified when `operator` is 'In' or 'NotIn'") }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { v.report(p["values"], "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'") }
            default:
                v.report(p["operator"], "Unsupported value: \"\(e.operator)\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"")
            }
            if let problem = NameRules.qualifiedNameProblem(e.key) {
                v.report(p["key"], "Invalid value: \"\(e.key)\": name part must be \(problem)")
            }
            for (j, value) in values.enumerated() where !NameRules.isLabelValue(value) {
                v.report(p["values"][j], "Invalid value: \"\(value)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)")
            }
        }
        labels(s.matchLabels, at: path["matchLabels"], into: &v)
    }

    static func networkPolicy(_ spec: KubernetesNetworkPolicy.Spec, at path: FieldPath, into v: inout Validator) {
        labelSelector(spec.podSelector ?? LabelSelector(), at: path["podSelector"], into: &v)
        for (i, rule) in (spec.ingress ?? []).enumerated() {
            let p = path["ingress"][i]
            for (j, port) in (rule.ports ?? []).enumerated() { self.port(port, at: p["ports"][j], into: &v) }
            for (j, peer) in (rule.from ?? []).enumerated() { self.peer(peer, at: p["from"][j], into: &v) }
        }
        for (i, rule) in (spec.egress ?? []).enumerated() {
            let p = path["egress"][i]
            for (j, port) in (rule.ports ?? []).enumerated() { self.port(port, at: p["ports"][j], into: &v) }
            for (j, peer) in (rule.to ?? []).enumerated() { self.peer(peer, at: p["to"][j], into: &v) }
        }
        let types = spec.policyTypes ?? []
        for (i, t) in types.enumerated() where t != "Ingress" && t != "Egress" {
            v.report(path["policyTypes"][i], "Unsupported value: \"\(t)\": supported values: \"Ingress\", \"Egress\"")
        }
        if types.count > 2 {
            v.report(path["policyTypes"], "Invalid value: \(types): may not specify more than two policyTypes")
        }
    }

    static func port(_ port: KubernetesNetworkPolicy.Port, at path: FieldPath, into v: inout Validator) {
        if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) {
            v.report(path["protocol"], "Unsupported value: \"\(proto)\": supported values: \"SCTP\", \"TCP\", \"UDP\"")
        }
        switch port.port {
        case .int(let n)?:
            if !(1...65535).contains(n) {
                v.report(path["port"], "Invalid value: \(n): must be between 1 and 65535, inclusive")
            }
            if let end = port.endPort {
                if end < n {
                    v.report(path["endPort"], "Invalid value: \(end): must be greater than or equal to `port`")
                } else if end > 65535 {
                    v.report(path["endPort"], "Invalid value: \(end): must be between 1 and 65535, inclusive")
                }
            }
        case .string(let name)?:
            if let problem = NameRules.portNameProblem(name) {
                v.report(path["port"], "Invalid value: \"\(name)\": \(problem) (an IANA_SVC_NAME)")
            }
            if port.endPort != nil {
                v.report(path["endPort"], "Invalid value: \(port.endPort!): may not be specified when `port` is non-numeric")
            }
        case nil:
            if port.endPort != nil {
                v.report(path["endPort"], "Required value: may not be specified when `port` is not specified")
            }
        }
    }

    static func peer(_ peer: KubernetesNetworkPolicy.Peer, at path: FieldPath, into v: inout Validator) {
        var count = 0
        if let s = peer.podSelector { count += 1; labelSelector(s, at: path["podSelector"], into: &v) }
        if let s = peer.namespaceSelector { count += 1; labelSelector(s, at: path["namespaceSelector"], into: &v) }
        if let block = peer.ipBlock {
            count += 1
            ipBlock(block, at: path["ipBlock"], into: &v)
        }
        if count == 0 {
            v.report(path, "Required value: must specify a peer")
        } else if count > 1, peer.ipBlock != nil {
            v.report(path, "Forbidden: may not specify both ipBlock and another peer")
        }
    }

    static func ipBlock(_ block: KubernetesNetworkPolicy.IPBlock, at path: FieldPath, into v: inout Validator) {
        guard !block.cidr.isEmpty else {
            v.report(path["cidr"], "Required value")
            return
        }
        guard let cidr = CIDR(block.cidr) else {
            v.report(path["cidr"], "Invalid value: \"\(block.cidr)\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
            return
        }
        for (i, text) in (block.except ?? []).enumerated() {
            guard let except = CIDR(text) else {
                v.report(path["except"][i], "Invalid value: \"\(text)\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
                continue
            }
            if except.family != cidr.family || !cidr.network.contains(except.network) || except.prefixLength <= cidr.prefixLength {
                v.report(path["except"][i], "Invalid value: \"\(text)\": must be a strict subset of `cidr`")
            }
        }
    }

    static func pod(_ pod: KubernetesPod, into v: inout Validator) {
        for (field, containers) in [("containers", pod.spec.containers), ("initContainers", pod.spec.initContainers)] {
            for (i, c) in (containers ?? []).enumerated() {
                for (j, port) in (c.ports ?? []).enumerated() {
                    let p = FieldPath("spec")[field][i]["ports"][j]
                    if !(1...65535).contains(port.containerPort) {
                        v.report(p["containerPort"], "Invalid value: \(port.containerPort): must be between 1 and 65535, inclusive")
                    }
                    if let name = port.name, !name.isEmpty, let problem = NameRules.portNameProblem(name) {
                        v.report(p["name"], "Invalid value: \"\(name)\": \(problem) (an IANA_SVC_NAME)")
                    }
                    if let hp = port.hostPort, !(0...65535).contains(hp) {
                        v.report(p["hostPort"], "Invalid value: \(hp): must be between 1 and 65535, inclusive")
                    }
                }
            }
        }
    }
}
