import CanalKubernetes
import CanalModel
import CanalPolicy
import CanalTesting
import Foundation
import Testing

/// Random Kubernetes clusters (Namespaces, ServiceAccounts, Pods, NetworkPolicies) converted by
/// CanalKubernetes, compiled, and applied in a node namespace: every pod-to-pod flow (TCP and UDP
/// on several ports, ICMP echo; IPv4 and IPv6) is sent for real. The kernel's verdict must equal
/// the simulator's, and both must equal Kubernetes NetworkPolicy semantics as an independent
/// evaluator (``KubernetesSemantics``) computes them from the Kubernetes objects: default deny once
/// a policy selects a pod, additive allows, ingress and egress isolation each on its own.
/// Seeds are printed on failure; `CANAL_K8S_DIFF_SEED` reruns one.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"))
struct KubernetesDifferentialKernelTests {
    enum Backend: String { case iptables, nftables }

    static let clustersPerBackend = 4
    static let podCount = 5

    @Test func iptablesMatchesSimulatorAndKubernetes() async throws {
        let (flows, denied) = try await run(.iptables)
        #expect(flows >= 600)
        #expect(denied > flows / 100 && denied < flows - flows / 100, "\(denied) of \(flows) denied")
    }

    @Test func nftablesMatchesSimulatorAndKubernetes() async throws {
        let (flows, denied) = try await run(.nftables)
        #expect(flows >= 600)
        #expect(denied > flows / 100 && denied < flows - flows / 100, "\(denied) of \(flows) denied")
    }

    static func seeds(_ backend: Backend) -> [UInt64] {
        if let fixed = ProcessInfo.processInfo.environment["CANAL_K8S_DIFF_SEED"].flatMap(UInt64.init) { return [fixed] }
        let base = UInt64.random(in: 0..<UInt64.max / 2)
        return (0..<UInt64(clustersPerBackend)).map { base &+ $0 &* 7919 &+ (backend == .iptables ? 0 : 1) }
    }

    func run(_ backend: Backend) async throws -> (Int, Int) {
        var compared = 0, denied = 0
        for seed in Self.seeds(backend) {
            let (c, d) = try await NetnsNode.withNode(test: backend == .iptables ? "k8sdiff-ipt" : "k8sdiff-nft") { node in
                try await runCluster(seed: seed, backend: backend, node: node)
            }
            compared += c
            denied += d
        }
        return (compared, denied)
    }

    func runCluster(seed: UInt64, backend: Backend, node: NetnsNode) async throws -> (Int, Int) {
        let cluster = RandomKubernetesCluster(seed: seed, count: Self.podCount)
        var resources = try KubernetesConverter().convert(cluster.objects)
        for i in resources.indices {
            resources[i].applyDefaults()
            #expect(resources[i].validationErrors().isEmpty, "seed \(seed): \(resources[i].displayName): \(resources[i].validationErrors())")
        }
        let endpoints = resources.compactMap { $0 as? WorkloadEndpoint }
        #expect(endpoints.count == cluster.pods.count)
        var workloads: [Workload] = []
        for (i, pod) in cluster.pods.enumerated() {
            let wep = try #require(endpoints.first { $0.spec.pod == pod.metadata.name })
            workloads.append(try node.addWorkload(
                "w\(i)", interface: wep.spec.interfaceName!, ipv4: "198.18.0.\(10 + i)", ipv6: "fd5e:ca1::\(10 + i)"))
        }
        for w in workloads { try node.listen(in: w, ports: RandomKubernetesCluster.ports) }

        let compiled = try PolicyCompiler.compile(ClusterState(resources: resources), node: "node1")
        do {
            for family in [IPAddress.Family.v4, .v6] {
                let rules = compiled.ruleSet(family)
                #expect(rules.problems().isEmpty, "seed \(seed): \(rules.problems())")
                switch backend {
                case .iptables:
                    let diff = RuleSetDiff(from: RuleSet(family: family), to: rules)
                    let sets = IPSetRenderer().update(diff.ipSets)
                    try node.applyIPSets(sets.beforeRules)
                    try node.applyIptables(IptablesRenderer().restoreInput(diff), ipv6: family == .v6, noflush: true)
                    try node.applyIPSets(sets.afterRules)
                case .nftables:
                    try node.applyNft(NftablesRenderer().script(rules))
                }
            }
        } catch {
            Issue.record("seed \(seed) (\(backend)): apply failed: \(error)\n\(cluster.description)")
            throw error
        }
        return try await compare(compiled, cluster, endpoints, workloads, node, seed: seed, backend: backend)
    }

    struct Case {
        var probe: Probe
        var flow: Flow
        var proto: String
        var port: UInt16?
        var ipv6: Bool
    }

    func compare(_ compiled: CompiledPolicy, _ cluster: RandomKubernetesCluster, _ endpoints: [WorkloadEndpoint],
                 _ workloads: [Workload], _ node: NetnsNode, seed: UInt64, backend: Backend) async throws -> (Int, Int) {
        func id(_ i: Int) -> EndpointID {
            let wep = endpoints.first { $0.spec.pod == cluster.pods[i].metadata.name }!
            return .workload(namespace: wep.metadata.namespace!, name: wep.metadata.name!)
        }
        var plans: [(Workload, Int, [(Int, Case)])] = []
        for (i, source) in workloads.enumerated() {
            var cases: [(Int, Case)] = []
            for (j, dest) in workloads.enumerated() where i != j {
                let (from, to) = (Flow.End.endpoint(id(i)), Flow.End.endpoint(id(j)))
                for port in RandomKubernetesCluster.ports {
                    cases.append((j, Case(probe: .tcp(dest.ipv4, port), flow: Flow(from: from, to: to, protocol: 6, port: port), proto: "TCP", port: port, ipv6: false)))
                }
                for port: UInt16 in [80, 8080] {
                    cases.append((j, Case(probe: .udp(dest.ipv4, port), flow: Flow(from: from, to: to, protocol: 17, port: port), proto: "UDP", port: port, ipv6: false)))
                }
                cases.append((j, Case(probe: .ping(dest.ipv4), flow: Flow(from: from, to: to, protocol: 1, icmpType: 8, icmpCode: 0), proto: "ICMP", port: nil, ipv6: false)))
                for port: UInt16 in [80, 5432] {
                    cases.append((j, Case(probe: .tcp(dest.ipv6, port), flow: Flow(from: from, to: to, protocol: 6, port: port, family: .v6), proto: "TCP", port: port, ipv6: true)))
                }
                cases.append((j, Case(probe: .udp(dest.ipv6, 8080), flow: Flow(from: from, to: to, protocol: 17, port: 8080, family: .v6), proto: "UDP", port: 8080, ipv6: true)))
            }
            plans.append((source, i, cases))
        }
        let results = try await withThrowingTaskGroup(of: (Int, [Probe: Bool]).self) { group in
            for (source, i, cases) in plans {
                group.addTask { (i, try node.probe(from: source, cases.map(\.1.probe))) }
            }
            var all: [Int: [Probe: Bool]] = [:]
            for try await (i, r) in group { all[i] = r }
            return all
        }
        let semantics = cluster.semantics
        var compared = 0, denied = 0
        for (source, i, cases) in plans {
            var kernel = results[i] ?? [:]
            let verdicts = cases.map { compiled.simulate($0.1.flow) }
            // Allowed flows that missed the deadline on a loaded machine: ask again (a denied flow
            // never gets through, so this cannot hide a wrong verdict).
            let late = zip(cases, verdicts).filter { $1.allowed && kernel[$0.1.probe] == false }.map(\.0.1.probe)
            if !late.isEmpty { for (p, ok) in try node.probe(from: source, late, timeout: 2) { kernel[p] = ok } }
            for ((j, c), verdict) in zip(cases, verdicts) {
                compared += 1
                let expected = semantics.allows(from: cluster.semanticsPod(i), to: cluster.semanticsPod(j), protocol: c.proto, port: c.port, ipv6: c.ipv6)
                if !expected { denied += 1 }
                if kernel[c.probe] != verdict.allowed || verdict.allowed != expected {
                    Issue.record("""
                        seed \(seed) (\(backend)): w\(i) → w\(j) \(c.probe): kernel \(kernel[c.probe] == true ? "allowed" : "denied"), \
                        simulator \(verdict.allowed ? "allowed" : "denied") by \(verdict.decidedBy), Kubernetes \(expected ? "allowed" : "denied")
                        pods: \(cluster.pods.map { "\($0.metadata.name!) ns=\($0.metadata.namespace!) \($0.metadata.labels ?? [:])" })
                        namespaces: \(cluster.namespaceObjects.map { "\($0.metadata.name!) \($0.metadata.labels ?? [:])" })
                        policies:
                        \(cluster.description)
                        """)
                }
            }
        }
        return (compared, denied)
    }
}
