import CanalModel
import CanalPolicy

/// A small deterministic generator (SplitMix64), so a failing seed reproduces.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random clusters for the differential test: a few workloads on one node with random labels,
/// namespaces, service accounts and named ports, and random tiers, policies and rules using
/// every rule feature the kernel probes can observe (no source ports: probes use ephemeral ones).
struct RandomCluster {
    struct WorkloadSpec {
        var name: String
        var namespace: String
        var interface: String
        var ipv4: String
        var ipv6: String
        var labels: [String: String]
        var serviceAccount: String
    }

    static let ports: [UInt16] = [80, 443, 5432, 8080]
    static let namespaces = ["default", "prod"]

    var rng: SeededGenerator
    var workloads: [WorkloadSpec] = []
    var policies: [String] = []  // JSON documents
    var tiers: [String] = []
    var tierNames = ["default"]
    /// Workloads on another node (IP set members only).
    var remote: [WorkloadSpec] = []

    init(seed: UInt64, count: Int = 4) {
        rng = SeededGenerator(seed: seed)
        for i in 0..<count {
            let iface = "cali" + String((0..<11).map { _ in "0123456789abcdef".randomElement(using: &rng)! })
            workloads.append(WorkloadSpec(
                name: "w\(i)", namespace: Self.namespaces.randomElement(using: &rng)!, interface: iface,
                ipv4: "198.18.0.\(10 + i)", ipv6: "fd5e:ca1::\(10 + i)", labels: [:], serviceAccount: ["sa1", "sa2"].randomElement(using: &rng)!))
            relabel(i)
        }
        if Bool.random(using: &rng) {
            let action = Bool.random(using: &rng) ? "Pass" : "Deny"
            tiers.append(#"{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t1"}, "spec": {"order": 10, "defaultAction": "\#(action)"}}"#)
            tierNames.append("t1")
        }
        for p in 0..<Int.random(in: 2...5, using: &rng) { policies.append(policy(p, tiers: tierNames)) }
    }

    mutating func relabel(_ i: Int) {
        var labels: [String: String] = ["app": ["a", "b", "c"].randomElement(using: &rng)!]
        if Bool.random(using: &rng) { labels["env"] = ["prod", "dev"].randomElement(using: &rng)! }
        workloads[i].labels = labels
    }

    func resources() throws -> [any AnyResource] {
        var out: [any AnyResource] = []
        for w in workloads {
            out.append(try Resources.workload(
                w.name, namespace: w.namespace, interface: w.interface, ips: ["\(w.ipv4)/32", "\(w.ipv6)/128"], labels: w.labels,
                profiles: ["kns.\(w.namespace)", "ksa.\(w.namespace).\(w.serviceAccount)"],
                ports: [("http", "TCP", 80), ("pg", "TCP", 5432), ("alt", "UDP", 8080)]))
        }
        for w in remote {
            out.append(try Resources.workload(
                w.name, namespace: w.namespace, node: "node2", interface: w.interface, ips: ["\(w.ipv4)/32", "\(w.ipv6)/128"],
                labels: w.labels, profiles: ["kns.\(w.namespace)", "ksa.\(w.namespace).\(w.serviceAccount)"],
                ports: [("http", "TCP", 80)]))
        }
        for ns in Self.namespaces {
            out.append(try Resources.allowAllProfile("kns.\(ns)", labels: ["pcns.name": ns]))
            for sa in ["sa1", "sa2"] {
                out.append(try Resources.read(#"{"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "ksa.\#(ns).\#(sa)"}, "spec": {"labelsToApply": {"pcsa.name": "\#(sa)", "projectcalico.org/serviceaccount": "\#(sa)"}}}"#))
            }
        }
        for t in tiers { out.append(try Resources.read(t)) }
        for p in policies { out.append(try Resources.read(p)) }
        return out
    }

    // MARK: - Generation

    mutating func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    private mutating func selector() -> String {
        let app = pick(["a", "b", "c"])
        return pick([
            "app == '\(app)'", "app != '\(app)'", "has(env)", "env == 'prod'", "app in {'a', 'b'}",
            "app == '\(app)' || env == 'dev'", "!has(env)", "all()",
        ])
    }

    private mutating func net() -> String {
        let w = pick(workloads)
        return chance(0.5) ? "\(w.ipv4)/32" : "198.18.0.\(pick([8, 12]))/30"
    }

    private mutating func entity(proto: String?, destination: Bool) -> String {
        var fields: [String] = []
        if chance(0.4) { fields.append(#""selector": "\#(selector())""#) }
        if chance(0.15) { fields.append(#""notSelector": "\#(selector())""#) }
        if chance(0.15) { fields.append(#""namespaceSelector": "name == '\#(pick(Self.namespaces))'""#) }
        if chance(0.1) { fields.append(#""serviceAccounts": {"names": ["\#(pick(["sa1", "sa2"]))"]}"#) }
        if chance(0.2) { fields.append(#""nets": [\#((0..<Int.random(in: 1...3, using: &rng)).map { _ in "\"\(net())\"" }.joined(separator: ", "))]"#) }
        if chance(0.15) { fields.append(#""notNets": [\#((0..<Int.random(in: 1...2, using: &rng)).map { _ in "\"\(net())\"" }.joined(separator: ", "))]"#) }
        if destination, let proto, proto == "TCP" || proto == "UDP" {
            if chance(0.5) { fields.append(#""ports": [\#(portList(proto))]"#) }
            if chance(0.15) { fields.append(#""notPorts": [\#(portList(proto))]"#) }
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    private mutating func portList(_ proto: String) -> String {
        var items: [String] = []
        if chance(0.1) {
            // More than 15 slots: many single ports around the probed ones.
            items = (0..<18).map { "\(7000 + $0 * 3)" } + ["\(pick(Self.ports))"]
        } else {
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: items.append("\(pick(Self.ports))")
                case 1: let a = pick([70, 400, 5000, 8000]); items.append(#""\#(a):\#(a + pick([20, 100, 500]))""#)
                default: items.append(#""\#(proto == "UDP" ? "alt" : pick(["http", "pg"]))""#)
                }
            }
        }
        return items.joined(separator: ", ")
    }

    private mutating func rule() -> String {
        var fields = [#""action": "\#(pick(["Allow", "Allow", "Allow", "Deny", "Pass", "Log"]))""#]
        let proto: String? = pick(["TCP", "TCP", "UDP", "ICMP", nil])
        if let proto { fields.append(#""protocol": "\#(proto)""#) }
        var notProto: String?
        if proto == nil, chance(0.2) {
            notProto = pick(["UDP", "ICMP"])
            fields.append(#""notProtocol": "\#(notProto!)""#)
        }
        if proto == "ICMP" {
            if chance(0.4) { fields.append(#""icmp": {"type": \#(pick([8, 0, 13]))\#(chance(0.5) ? ", \"code\": \(pick([0, 1]))" : "")}"#) }
            else if chance(0.3) { fields.append(#""notICMP": {"type": \#(pick([8, 0]))}"#) }
        }
        let source = entity(proto: proto, destination: false)
        let destination = entity(proto: proto, destination: true)
        // Calico: protocol or notProtocol ICMP pins the rule to IPv4.
        let versions = proto == "ICMP" || notProto == "ICMP" ? [4] : [4, 6]
        if !(source + destination).contains("ets\""), chance(0.1) { fields.append(#""ipVersion": \#(pick(versions))"#) }
        fields.append(#""source": \#(source)"#)
        fields.append(#""destination": \#(destination)"#)
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// Adds `count` workloads on node2.
    mutating func addRemote(_ count: Int) {
        for i in 0..<count {
            remote.append(WorkloadSpec(
                name: "r\(i)", namespace: Self.namespaces.randomElement(using: &rng)!, interface: "calir\(i)",
                ipv4: "198.18.1.\(10 + i)", ipv6: "fd5e:ca1::1:\(10 + i)",
                labels: ["app": ["a", "b", "c"].randomElement(using: &rng)!], serviceAccount: "sa1"))
        }
    }

    /// A random policy named after `index`.
    mutating func randomPolicy(_ index: Int) -> String { policy(index, tiers: tierNames) }

    mutating func policy(_ index: Int, tiers: [String]) -> String {
        let tier = pick(tiers)
        let name = tier == "default" ? "p\(index)" : "\(tier).p\(index)"
        let types = pick([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        var spec = [#""tier": "\#(tier)""#, #""selector": "\#(selector())""#,
                    #""types": [\#(types.map { "\"\($0)\"" }.joined(separator: ", "))]"#]
        if chance(0.7) { spec.append(#""order": \#(pick([1, 5, 10, 100]))"#) }
        let ingress = types.contains("Ingress") ? (0..<Int.random(in: 0...3, using: &rng)).map { _ in rule() } : []
        let egress = types.contains("Egress") ? (0..<Int.random(in: 0...3, using: &rng)).map { _ in rule() } : []
        if !ingress.isEmpty { spec.append(#""ingress": [\#(ingress.joined(separator: ", "))]"#) }
        if !egress.isEmpty { spec.append(#""egress": [\#(egress.joined(separator: ", "))]"#) }
        if chance(0.4) {
            let ns = pick(Self.namespaces)
            return #"{"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "\#(name)", "namespace": "\#(ns)"}, "spec": {\#(spec.joined(separator: ", "))}}"#
        }
        if chance(0.2) { spec.append(#""namespaceSelector": "name == '\#(pick(Self.namespaces))'""#) }
        return #"{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "\#(name)"}, "spec": {\#(spec.joined(separator: ", "))}}"#
    }
}
