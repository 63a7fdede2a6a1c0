import CanalKubernetes
import CanalModel

/// Random Kubernetes clusters for the Kubernetes differential test: two namespaces with labels,
/// a few pods with random labels, service accounts and named ports, and random NetworkPolicies
/// using every feature a probe can observe (pod, namespace and combined selectors, every
/// matchExpressions operator, ipBlock with except, numeric, ranged and named ports, bare
/// protocols, explicit and inferred policyTypes, default-deny policies).
struct RandomKubernetesCluster {
    static let ports: [UInt16] = [80, 443, 5432, 8080]
    static let namespaces = ["default", "prod"]

    var rng: SeededGenerator
    var namespaceObjects: [KubernetesNamespace] = []
    var serviceAccounts: [KubernetesServiceAccount] = []
    var pods: [KubernetesPod] = []
    var policies: [KubernetesNetworkPolicy] = []

    init(seed: UInt64, count: Int) {
        rng = SeededGenerator(seed: seed)
        for ns in Self.namespaces {
            var labels = ["team": ns == "default" ? "a" : "b"]
            if Bool.random(using: &rng) { labels["env"] = pick(["prod", "dev"]) }
            namespaceObjects.append(KubernetesNamespace(metadata: ObjectMeta(name: ns, labels: labels)))
            for sa in ["sa1", "sa2"] {
                serviceAccounts.append(KubernetesServiceAccount(metadata: ObjectMeta(name: sa, namespace: ns, labels: ["sa": sa])))
            }
        }
        for i in 0..<count {
            var labels = ["app": pick(["a", "b", "c"])]
            if Bool.random(using: &rng) { labels["env"] = pick(["prod", "dev"]) }
            pods.append(KubernetesPod(
                metadata: ObjectMeta(name: "w\(i)", namespace: pick(Self.namespaces), labels: labels),
                spec: .init(nodeName: "node1", serviceAccountName: pick(["sa1", "sa2"]), containers: [
                    .init(name: "c", ports: [
                        .init(name: "http", containerPort: 80), .init(name: "pg", containerPort: 5432),
                        .init(name: "alt", containerPort: 8080, protocol: "UDP"),
                    ]),
                ]),
                status: .init(phase: "Running", podIP: "198.18.0.\(10 + i)", podIPs: [.init(ip: "198.18.0.\(10 + i)"), .init(ip: "fd5e:ca1::\(10 + i)")])))
        }
        for p in 0..<Int.random(in: 2...5, using: &rng) { policies.append(policy(p)) }
    }

    /// Every object, as the API server would hold them.
    var objects: [KubernetesObject] {
        namespaceObjects.map { .namespace($0) } + serviceAccounts.map { .serviceAccount($0) }
            + policies.map { .networkPolicy($0) } + pods.map { .pod($0) }
    }

    /// The oracle's view: policies and namespaces with the API server's defaults.
    var semantics: KubernetesSemantics {
        KubernetesSemantics(
            policies: policies.map { $0.withAPIServerDefaults() },
            namespaceLabels: Dictionary(uniqueKeysWithValues: namespaceObjects.map { ($0.metadata.name!, $0.withAPIServerDefaults().metadata.labels ?? [:]) }))
    }

    func semanticsPod(_ i: Int) -> KubernetesSemantics.Pod {
        let p = pods[i]
        return KubernetesSemantics.Pod(
            name: p.metadata.name!, namespace: p.metadata.namespace!, labels: p.metadata.labels ?? [:],
            ipv4: "198.18.0.\(10 + i)", ipv6: "fd5e:ca1::\(10 + i)",
            ports: [("http", "TCP", 80), ("pg", "TCP", 5432), ("alt", "UDP", 8080)])
    }

    /// Policies, printed for a failure report.
    var description: String { policies.map { "\($0)" }.joined(separator: "\n") }

    // MARK: - Generation

    mutating func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func selector(namespace: Bool) -> LabelSelector {
        if chance(0.25) { return LabelSelector() }
        var s = LabelSelector()
        if namespace {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: s.matchLabels = ["team": pick(["a", "b"])]
            case 1: s.matchLabels = [KubernetesNamespace.nameLabel: pick(Self.namespaces)]
            case 2: s.matchExpressions = [.init(key: "env", operator: pick(["Exists", "DoesNotExist"]))]
            default: s.matchExpressions = [.init(key: "team", operator: pick(["In", "NotIn"]), values: [pick(["a", "b"])])]
            }
            return s
        }
        if chance(0.6) { s.matchLabels = ["app": pick(["a", "b", "c"])] }
        if chance(0.5) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: s.matchExpressions = [.init(key: "app", operator: "In", values: [pick(["a", "b"]), "c"])]
            case 1: s.matchExpressions = [.init(key: "env", operator: "NotIn", values: [pick(["prod", "dev"])])]
            case 2: s.matchExpressions = [.init(key: "env", operator: "Exists")]
            default: s.matchExpressions = [.init(key: "env", operator: "DoesNotExist")]
            }
        }
        return s
    }

    mutating func peer() -> KubernetesNetworkPolicy.Peer {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0, 5: return .init(podSelector: selector(namespace: false))
        case 1: return .init(namespaceSelector: selector(namespace: true))
        case 2: return .init(podSelector: selector(namespace: false), namespaceSelector: selector(namespace: true))
        case 3:
            let i = Int.random(in: 0..<pods.count, using: &rng)
            return .init(ipBlock: .init(cidr: "198.18.0.\(10 + i)/32"))
        default:  // 4
            return .init(ipBlock: .init(cidr: "198.18.0.8/29", except: chance(0.5) ? ["198.18.0.\(pick([10, 12]))/31"] : nil))
        }
    }

    mutating func port() -> KubernetesNetworkPolicy.Port {
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: return .init(port: .int(Int(pick(Self.ports))))
        case 1:
            let start = pick([70, 400, 5000])
            return .init(protocol: "TCP", port: .int(start), endPort: start + pick([20, 100, 500]))
        case 2: return .init(port: .string(pick(["http", "pg"])))
        case 3: return .init(protocol: "UDP", port: .int(8080))
        case 4: return .init(protocol: "UDP", port: .string("alt"))
        case 5: return .init(protocol: "UDP")
        case 6: return .init(protocol: "TCP")
        case 7: return .init(port: .int(81), endPort: 443)
        default: return .init(protocol: "TCP", port: .int(443))
        }
    }

    mutating func policy(_ index: Int) -> KubernetesNetworkPolicy {
        let types: [String]? = pick([nil, ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        var spec = KubernetesNetworkPolicy.Spec(podSelector: selector(namespace: false), policyTypes: types)
        let ingressRules = (types ?? ["Ingress"]).contains("Ingress") ? Int.random(in: 0...2, using: &rng) : 0
        let egressRules = types == nil || types!.contains("Egress") ? Int.random(in: 0...2, using: &rng) : 0
        if ingressRules > 0 {
            spec.ingress = (0..<ingressRules).map { _ in
                .init(from: chance(0.8) ? (0..<Int.random(in: 1...2, using: &rng)).map { _ in peer() } : nil,
                      ports: chance(0.6) ? (0..<Int.random(in: 1...2, using: &rng)).map { _ in port() } : nil)
            }
        }
        if egressRules > 0 {
            spec.egress = (0..<egressRules).map { _ in
                .init(to: chance(0.8) ? (0..<Int.random(in: 1...2, using: &rng)).map { _ in peer() } : nil,
                      ports: chance(0.6) ? (0..<Int.random(in: 1...2, using: &rng)).map { _ in port() } : nil)
            }
        }
        return KubernetesNetworkPolicy(metadata: ObjectMeta(name: "np\(index)", namespace: pick(Self.namespaces)), spec: spec)
    }
}
