import CanalKubernetes
import CanalModel

/// Kubernetes NetworkPolicy semantics, written from the Kubernetes documentation and API reference
/// and independent of Canal's conversion and compiler: the oracle of the Kubernetes differential test.
///
/// - A pod is isolated for ingress (egress) when a policy of its namespace selects it and has
///   `Ingress` (`Egress`) in its policyTypes; a pod not isolated in a direction allows everything.
/// - An isolated pod allows what any selecting policy's rule allows (allows are additive); a rule
///   matches when one of its peers matches (or it has none) and one of its ports matches (or it has none).
/// - A flow between two pods needs both the source's egress and the destination's ingress.
struct KubernetesSemantics {
    struct Pod {
        var name: String
        var namespace: String
        var labels: [String: String]
        var ipv4: String
        var ipv6: String
        /// Named container ports: name, protocol, port.
        var ports: [(name: String, protocol: String, port: UInt16)]
    }

    var policies: [KubernetesNetworkPolicy]
    var namespaceLabels: [String: [String: String]]

    /// Whether the flow is allowed; `protocol` is `TCP`, `UDP` or `ICMP`.
    func allows(from source: Pod, to destination: Pod, protocol proto: String, port: UInt16?, ipv6: Bool) -> Bool {
        let dstIP = ipv6 ? destination.ipv6 : destination.ipv4
        let srcIP = ipv6 ? source.ipv6 : source.ipv4
        let egress = allowed(pod: source, direction: "Egress", peer: destination, peerIP: dstIP, proto: proto, port: port, portOwner: destination)
        let ingress = allowed(pod: destination, direction: "Ingress", peer: source, peerIP: srcIP, proto: proto, port: port, portOwner: destination)
        return egress && ingress
    }

    private func allowed(pod: Pod, direction: String, peer: Pod, peerIP: String, proto: String, port: UInt16?, portOwner: Pod) -> Bool {
        let selecting = policies.filter { p in
            p.metadata.namespace == pod.namespace && Self.matches(p.spec.podSelector ?? LabelSelector(), pod.labels)
                && (p.spec.policyTypes ?? []).contains(direction)
        }
        if selecting.isEmpty { return true }
        for p in selecting {
            let rules: [(peers: [KubernetesNetworkPolicy.Peer], ports: [KubernetesNetworkPolicy.Port])] =
                direction == "Ingress"
                ? (p.spec.ingress ?? []).map { ($0.from ?? [], $0.ports ?? []) }
                : (p.spec.egress ?? []).map { ($0.to ?? [], $0.ports ?? []) }
            for rule in rules {
                let peerOK = rule.peers.isEmpty || rule.peers.contains { peerMatches($0, policyNamespace: pod.namespace, peer, peerIP) }
                let portOK = rule.ports.isEmpty || rule.ports.contains { Self.portMatches($0, proto, port, portOwner) }
                if peerOK && portOK { return true }
            }
        }
        return false
    }

    private func peerMatches(_ peer: KubernetesNetworkPolicy.Peer, policyNamespace: String, _ pod: Pod, _ ip: String) -> Bool {
        if let block = peer.ipBlock {
            guard let address = IPAddress(ip), let cidr = CIDR(block.cidr), cidr.family == address.family, cidr.network.contains(address) else { return false }
            return !(block.except ?? []).contains { CIDR($0)?.network.contains(address) ?? false }
        }
        let namespaceOK: Bool
        if let ns = peer.namespaceSelector {
            namespaceOK = Self.matches(ns, namespaceLabels[pod.namespace] ?? [:])
        } else {
            namespaceOK = pod.namespace == policyNamespace
        }
        let podOK = peer.podSelector.map { Self.matches($0, pod.labels) } ?? true
        return namespaceOK && podOK
    }

    private static func portMatches(_ p: KubernetesNetworkPolicy.Port, _ proto: String, _ port: UInt16?, _ owner: Pod) -> Bool {
        guard (p.protocol ?? "TCP") == proto, let port else { return false }
        switch p.port {
        case nil: return true
        case .int(let n)?: return Int(port) >= n && Int(port) <= (p.endPort ?? n)
        case .string(let name)?: return owner.ports.contains { $0.name == name && $0.protocol == proto && $0.port == port }
        }
    }

    static func matches(_ s: LabelSelector, _ labels: [String: String]) -> Bool {
        for (k, v) in s.matchLabels ?? [:] where labels[k] != v { return false }
        for e in s.matchExpressions ?? [] {
            let value = labels[e.key]
            let values = e.values ?? []
            switch e.operator {
            case "In": if value == nil || !values.contains(value!) { return false }
            case "NotIn": if let value, values.contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: return false
            }
        }
        return true
    }
}
