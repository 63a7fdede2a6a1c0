/// Calico's rules for policies and their rules (the Go validator and the CRD CEL rules of
/// `policy_common.go`, `networkpolicy.go` and `globalnetworkpolicy.go`), reporting every problem
/// with its field path.
struct PolicyValidation {
    /// Whether the policy is a GlobalNetworkPolicy (services then need a namespace).
    var global: Bool

    static let maxRules = 1024
    static let maxSelectorLength = 1024
    static let maxNets = 256
    static let maxPorts = 50
    static let maxHTTPItems = 20
    static let maxHTTPPathLength = 1024

    // MARK: policy spec

    /// The rules NetworkPolicy and GlobalNetworkPolicy share.
    func common(
        tier: String?, order: Double?, ingress: [Rule]?, egress: [Rule]?, selector: String?,
        types: [PolicyType]?, serviceAccountSelector: String?, performanceHints: [PolicyPerformanceHint]?,
        into v: inout Validator
    ) {
        let spec: FieldPath = "spec"
        if let tier, !tier.isEmpty { v.name(tier, at: spec["tier"]) }
        if let order, !order.isFinite { v.report(spec["order"], "order must be a finite number") }
        rules(ingress, direction: .ingress, at: spec["ingress"], into: &v)
        rules(egress, direction: .egress, at: spec["egress"], into: &v)
        policySelector(selector, at: spec["selector"], into: &v)
        policySelector(serviceAccountSelector, at: spec["serviceAccountSelector"], into: &v)
        if let types {
            if types.count > 2 { v.report(spec["types"], "at most 2 types are allowed (Ingress, Egress), found \(types.count)") }
            for (i, t) in types.enumerated() where types[..<i].contains(t) {
                v.report(spec["types"][i], "'\(t.rawValue)' type specified more than once")
            }
        }
        if let performanceHints {
            for (i, h) in performanceHints.enumerated() where performanceHints[..<i].contains(h) {
                v.report(spec["performanceHints"][i], "'\(h.rawValue)' hint specified more than once")
            }
        }
    }

    /// A policy-level selector: at most 1024 characters, parseable, and without `global(`.
    func policySelector(_ text: String?, at path: FieldPath, into v: inout Validator) {
        guard let text, !text.isEmpty else { return }
        Self.selector(text, at: path, into: &v)
        if text.contains("global(") {
            v.report(path, "global() can only be used in an EntityRule namespaceSelector")
        }
    }

    static func selector(_ text: String, at path: FieldPath, into v: inout Validator) {
        if text.utf8.count > maxSelectorLength {
            v.report(path, "selector is \(text.utf8.count) characters long; at most \(maxSelectorLength) are allowed")
        }
        v.selector(text, at: path)
    }

    /// A policy's rule list for one direction, with the direction-specific rules.
    func rules(_ rules: [Rule]?, direction: PolicyType, at path: FieldPath, into v: inout Validator) {
        guard let rules else { return }
        Self.ruleList(rules, at: path, into: &v)
        for (i, rule) in rules.enumerated() {
            let base = path[i]
            switch direction {
            case .egress:
                if rule.source.services != nil {
                    v.report(base["source"]["services"], "services are not allowed in an egress rule source")
                }
                if rule.http != nil { v.report(base["http"], "HTTP match is not allowed in egress rules") }
                if global, let services = rule.destination.services, services.namespace?.isEmpty ?? true {
                    v.report(base["destination"]["services"]["namespace"], "a GlobalNetworkPolicy must specify the service's namespace")
                }
            case .ingress:
                if rule.destination.services != nil {
                    v.report(base["destination"]["services"], "services are not allowed in an ingress rule destination")
                }
                if global, let services = rule.source.services, services.namespace?.isEmpty ?? true {
                    v.report(base["source"]["services"]["namespace"], "a GlobalNetworkPolicy must specify the service's namespace")
                }
            }
        }
    }

    /// The rules of a list of rules (policy or profile): its length and each rule.
    static func ruleList(_ rules: [Rule], at path: FieldPath, into v: inout Validator) {
        if rules.count > maxRules {
            v.report(path, "\(rules.count) rules; at most \(maxRules) are allowed")
        }
        for (i, rule) in rules.enumerated() {
            rule.validate(at: path[i], into: &v)
        }
    }
}

extension Rule {
    /// Reports every problem of this rule, with paths under `base` (for example `spec.ingress[0]`).
    func validate(at base: FieldPath, into v: inout Validator) {
        if let ipVersion, ipVersion != 4, ipVersion != 6 {
            v.report(base["ipVersion"], "ipVersion must be 4 or 6, found \(ipVersion)")
        }
        for (key, proto) in [("protocol", `protocol`), ("notProtocol", notProtocol)] {
            guard let proto else { continue }
            if case .number(0) = proto {
                v.report(base[key], "protocol number 0 is not valid: use \(ProtocolValue.expectation)")
            }
            if proto.isICMPv4, let ipVersion, ipVersion != 4 {
                v.report(base["ipVersion"], "\(key) \(proto) requires ipVersion 4")
            }
            if proto.isICMPv6, let ipVersion, ipVersion != 6 {
                v.report(base["ipVersion"], "\(key) \(proto) requires ipVersion 6")
            }
        }
        if let icmp {
            icmp.validate(at: base["icmp"], into: &v)
            if !(`protocol`.map { $0.isICMPv4 || $0.isICMPv6 } ?? false) {
                v.report(base["icmp"], "ICMP fields require protocol to be ICMP or ICMPv6 (or 1 or 58)")
            }
        }
        notICMP?.validate(at: base["notICMP"], into: &v)

        source.validate(at: base["source"], into: &v)
        destination.validate(at: base["destination"], into: &v)
        validatePortsAgainstProtocol(at: base, into: &v)
        validateNets(at: base, into: &v)

        if destination.services != nil {
            for key in ["ports", "notPorts"] {
                let ports = key == "ports" ? destination.ports : destination.notPorts
                if let ports, !ports.isEmpty {
                    v.report(base["destination"][key], "ports and notPorts cannot be specified with services")
                }
            }
        }
        if let http {
            if action != .allow { v.report(base["http"], "HTTP match is only valid on Allow rules") }
            if let p = `protocol`, p != .tcp, p != .number(6) {
                v.report(base["http"], "rules with HTTP match must have protocol TCP or unset")
            }
            http.validate(at: base["http"], into: &v)
        }
        if let annotations = metadata?.annotations {
            v.annotations(annotations, at: base["metadata"]["annotations"])
        }
    }

    /// Without a protocol only named ports are allowed; a protocol without ports allows none.
    private func validatePortsAgainstProtocol(at base: FieldPath, into v: inout Validator) {
        let lists: [(String, String, [Port]?)] = [
            ("source", "ports", source.ports), ("source", "notPorts", source.notPorts),
            ("destination", "ports", destination.ports), ("destination", "notPorts", destination.notPorts),
        ]
        for (side, key, ports) in lists {
            guard let ports, !ports.isEmpty else { continue }
            let path = base[side][key]
            if let p = `protocol` {
                if !p.supportsPorts {
                    v.report(path, "rules that specify ports must set protocol to TCP or UDP or SCTP (protocol is \(p))")
                }
            } else {
                for (i, port) in ports.enumerated() where !port.isNamed {
                    v.report(path[i], "rules with numeric port or port range must set protocol to TCP or UDP or SCTP")
                }
            }
        }
    }

    /// Nets and notNets: masked CIDRs, one family across the rule, matching `ipVersion`;
    /// notNets may not be a catch-all.
    private func validateNets(at base: FieldPath, into v: inout Validator) {
        var seen: IPAddress.Family?
        let lists: [(String, String, [String]?)] = [
            ("source", "nets", source.nets), ("source", "notNets", source.notNets),
            ("destination", "nets", destination.nets), ("destination", "notNets", destination.notNets),
        ]
        for (side, key, nets) in lists {
            guard let nets else { continue }
            let path = base[side][key]
            if nets.count > PolicyValidation.maxNets {
                v.report(path, "\(nets.count) entries; at most \(PolicyValidation.maxNets) are allowed")
            }
            for (i, text) in nets.enumerated() {
                guard let cidr = v.cidr(text, at: path[i], strict: true) else { continue }
                if key == "notNets", cidr.prefixLength == 0 {
                    v.report(path[i], "catch-all CIDR \(text) in notNets matches no traffic")
                }
                if let ipVersion, ipVersion == 4 || ipVersion == 6, (cidr.family == .v4 ? 4 : 6) != ipVersion {
                    v.report(path[i], "\(cidr.family) CIDR does not match the rule's ipVersion \(ipVersion)")
                }
                if let seen, seen != cidr.family {
                    v.report(path[i], "rule contains both IPv4 and IPv6 CIDRs")
                } else {
                    seen = cidr.family
                }
            }
        }
    }
}

extension ICMPFields {
    func validate(at base: FieldPath, into v: inout Validator) {
        if let type, !(0...254).contains(type) { v.report(base["type"], "ICMP type must be 0-254, found \(type)") }
        if let code, !(0...255).contains(code) { v.report(base["code"], "ICMP code must be 0-255, found \(code)") }
        if code != nil, type == nil { v.report(base["code"], "ICMP code specified without an ICMP type") }
    }
}

extension HTTPMatch {
    func validate(at base: FieldPath, into v: inout Validator) {
        if let methods {
            if methods.count > PolicyValidation.maxHTTPItems {
                v.report(base["methods"], "\(methods.count) methods; at most \(PolicyValidation.maxHTTPItems) are allowed")
            }
            for (i, m) in methods.enumerated() where methods[..<i].contains(m) {
                v.report(base["methods"][i], "method \"\(m)\" is listed more than once")
            }
        }
        if let paths {
            if paths.count > PolicyValidation.maxHTTPItems {
                v.report(base["paths"], "\(paths.count) paths; at most \(PolicyValidation.maxHTTPItems) are allowed")
            }
            for (i, p) in paths.enumerated() {
                let path = base["paths"][i]
                let exact = p.exact ?? "", prefix = p.prefix ?? ""
                if !exact.isEmpty, !prefix.isEmpty {
                    v.report(path, "invalid path match: both 'exact' and 'prefix' are set")
                    continue
                }
                let value = exact.isEmpty ? prefix : exact
                let key = exact.isEmpty ? "prefix" : "exact"
                if value.isEmpty {
                    v.report(path, "invalid path match: either 'exact' or 'prefix' must be set")
                    continue
                }
                if value.utf8.count > PolicyValidation.maxHTTPPathLength {
                    v.report(path[key], "path is \(value.utf8.count) characters long; at most \(PolicyValidation.maxHTTPPathLength) are allowed")
                }
                if !value.hasPrefix("/") || value.contains(where: { $0 == "?" || $0 == "#" || $0 == " " }) {
                    v.report(path[key], "invalid path \"\(value)\": it must start with '/' and not contain '?', '#' or spaces")
                }
            }
        }
    }
}

extension EntityRule {
    /// Reports the problems of one side of a rule, with paths under `base` (for example `spec.ingress[0].source`).
    func validate(at base: FieldPath, into v: inout Validator) {
        if let selector, !selector.isEmpty {
            PolicyValidation.selector(selector, at: base["selector"], into: &v)
            if selector.contains("global(") {
                v.report(base["selector"], "global() can only be used in an EntityRule namespaceSelector")
            }
        }
        if let notSelector, !notSelector.isEmpty {
            PolicyValidation.selector(notSelector, at: base["notSelector"], into: &v)
        }
        if let namespaceSelector, !namespaceSelector.isEmpty {
            PolicyValidation.selector(namespaceSelector, at: base["namespaceSelector"], into: &v)
            if namespaceSelector.contains("global("), !EntityRule.isOnlyGlobal(namespaceSelector) {
                v.report(base["namespaceSelector"], "global() cannot be combined with other selectors")
            }
        }
        for (key, ports) in [("ports", ports), ("notPorts", notPorts)] {
            guard let ports else { continue }
            if ports.count > PolicyValidation.maxPorts {
                v.report(base[key], "\(ports.count) ports; at most \(PolicyValidation.maxPorts) are allowed")
            }
            for (i, port) in ports.enumerated() { port.validate(at: base[key][i], into: &v) }
        }
        if let selector = serviceAccounts?.selector, !selector.isEmpty {
            PolicyValidation.selector(selector, at: base["serviceAccounts"]["selector"], into: &v)
        }
        if let services {
            let path = base["services"]
            let name = services.name ?? ""
            if name.isEmpty {
                v.report(path["name"], "services must specify a service name")
            } else {
                v.name(name, at: path["name"])
            }
            if let ns = services.namespace, !ns.isEmpty { v.name(ns, at: path["namespace"]) }
            let conflicts: [(String, Bool)] = [
                ("selector", !(selector ?? "").isEmpty), ("notSelector", !(notSelector ?? "").isEmpty),
                ("namespaceSelector", !(namespaceSelector ?? "").isEmpty),
                ("nets", !(nets ?? []).isEmpty), ("notNets", !(notNets ?? []).isEmpty),
                ("serviceAccounts", serviceAccounts != nil),
            ]
            for (key, set) in conflicts where set {
                v.report(base[key], "cannot specify \(key) and services on the same rule")
            }
        }
    }

    /// Whether a selector containing `global(` is exactly the `global()` token (spaces allowed
    /// around it and inside the parentheses), as Calico's tokenizer sees `[Global, EOF]`.
    static func isOnlyGlobal(_ text: String) -> Bool {
        func trim(_ s: Substring) -> Substring {
            s.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
                .reduce(into: Substring()) { $0.append($1) }
        }
        let t = trim(text[...])
        guard t.hasPrefix("global(") else { return false }
        return trim(t.dropFirst("global(".count)) == ")"
    }
}

extension Port {
    /// The rules of one port of a rule: a range in order starting at 1, or a valid port name.
    func validate(at path: FieldPath, into v: inout Validator) {
        if isNamed {
            if minPort != 0 || maxPort != 0 {
                v.report(path, "named port invalid: if a name is given, the port numbers must be 0")
            }
            if !Port.isValidNameSyntax(name) {
                v.report(path, "invalid name for named port (\(name)): 1-128 characters from [a-zA-Z0-9_.-]")
            } else {
                v.portName(name, at: path)
            }
        } else {
            if minPort > maxPort {
                v.report(path, "port range invalid: minimum \(minPort) is greater than maximum \(maxPort)")
            }
            if minPort < 1 || maxPort < 1 {
                v.report(path, "port range invalid: port number must be between 1 and 65535")
            }
        }
    }
}
