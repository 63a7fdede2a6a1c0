import CanalModel
import CanalPolicy
import CanalTesting
import Foundation
import Testing

/// Random clusters compiled and applied in a node namespace; every workload-to-workload flow
/// (TCP and UDP on several ports, ICMP echo; IPv4 and IPv6) is sent for real and the kernel's verdict must
/// equal the simulator's, for iptables+ipset and for nftables. After the first apply one
/// workload's labels change and the update is applied incrementally (`--noflush` / nft diff),
/// then every flow is checked again. Seeds are printed on failure; `CANAL_DIFF_SEED` reruns one.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"))
struct DifferentialKernelTests {
    enum Backend: String { case iptables, nftables }

    static let clustersPerBackend = 3
    static let workloadCount = 4

    @Test func iptablesMatchesSimulator() async throws {
        let (flows, denied) = try await run(.iptables)
        #expect(flows >= 500)
        // Both verdicts occur, so the comparison is not vacuous.
        #expect(denied > flows / 100 && denied < flows - flows / 100, "\(denied) of \(flows) denied")
    }

    @Test func nftablesMatchesSimulator() async throws {
        let (flows, denied) = try await run(.nftables)
        #expect(flows >= 500)
        #expect(denied > flows / 100 && denied < flows - flows / 100, "\(denied) of \(flows) denied")
    }

    static func seeds(_ backend: Backend) -> [UInt64] {
        if let fixed = ProcessInfo.processInfo.environment["CANAL_DIFF_SEED"].flatMap(UInt64.init) { return [fixed] }
        let base = UInt64.random(in: 0..<UInt64.max / 2)
        return (0..<UInt64(clustersPerBackend)).map { base &+ $0 &* 7919 &+ (backend == .iptables ? 0 : 1) }
    }

    /// Runs every seed; returns the number of flows compared and how many were denied.
    func run(_ backend: Backend) async throws -> (Int, Int) {
        var compared = 0, denied = 0
        for seed in Self.seeds(backend) {
            let (c, d) = try await NetnsNode.withNode(test: backend == .iptables ? "diff-ipt" : "diff-nft") { node in
                try await runCluster(seed: seed, backend: backend, node: node)
            }
            compared += c
            denied += d
        }
        return (compared, denied)
    }

    func runCluster(seed: UInt64, backend: Backend, node: NetnsNode) async throws -> (Int, Int) {
        var cluster = RandomCluster(seed: seed, count: Self.workloadCount)
        var workloads: [Workload] = []
        for w in cluster.workloads {
            workloads.append(try node.addWorkload(w.name, interface: w.interface, ipv4: w.ipv4, ipv6: w.ipv6))
        }
        for w in workloads { try node.listen(in: w, ports: RandomCluster.ports) }

        let first = try PolicyCompiler.compile(ClusterState(resources: cluster.resources()), node: "node1")
        try apply(first, previous: nil, backend, node, seed: seed, cluster: cluster)
        let (c1, d1) = try await compare(first, cluster, workloads, node, seed: seed, backend: backend, phase: "full apply")

        // A label change moves a workload between IP sets and policies: apply only the difference.
        cluster.relabel(Int(seed % UInt64(workloads.count)))
        let second = try PolicyCompiler.compile(ClusterState(resources: cluster.resources()), node: "node1")
        try apply(second, previous: first, backend, node, seed: seed, cluster: cluster)
        let (c2, d2) = try await compare(second, cluster, workloads, node, seed: seed, backend: backend, phase: "after relabel (incremental)")
        return (c1 + c2, d1 + d2)
    }

    func apply(_ compiled: CompiledPolicy, previous: CompiledPolicy?, _ backend: Backend, _ node: NetnsNode, seed: UInt64, cluster: RandomCluster) throws {
        do {
            for family in [IPAddress.Family.v4, .v6] {
                let new = compiled.ruleSet(family)
                let old = previous?.ruleSet(family) ?? RuleSet(family: family)
                let diff = RuleSetDiff(from: old, to: new)
                #expect(new.problems().isEmpty, "seed \(seed): \(new.problems())")
                switch backend {
                case .iptables:
                    let sets = IPSetRenderer().update(diff.ipSets)
                    try node.applyIPSets(sets.beforeRules)
                    try node.applyIptables(IptablesRenderer().restoreInput(diff), ipv6: family == .v6, noflush: true)
                    try node.applyIPSets(sets.afterRules)
                case .nftables:
                    try node.applyNft(previous == nil ? NftablesRenderer().script(new) : NftablesRenderer().script(diff))
                }
            }
        } catch {
            Issue.record("seed \(seed) (\(backend)): apply failed: \(error)\npolicies:\n\(cluster.policies.joined(separator: "\n"))")
            throw error
        }
    }

    func compare(_ compiled: CompiledPolicy, _ cluster: RandomCluster, _ workloads: [Workload], _ node: NetnsNode,
                 seed: UInt64, backend: Backend, phase: String) async throws -> (Int, Int) {
        // Every ordered pair, all probes; sources probe concurrently.
        var plans: [(Workload, Int, [(Probe, Flow)])] = []
        for (i, source) in workloads.enumerated() {
            var probes: [(Probe, Flow)] = []
            for (j, dest) in workloads.enumerated() where i != j {
                let from = Flow.End.endpoint(Resources.id(cluster.workloads[i].name, namespace: cluster.workloads[i].namespace))
                let to = Flow.End.endpoint(Resources.id(cluster.workloads[j].name, namespace: cluster.workloads[j].namespace))
                for port in RandomCluster.ports {
                    probes.append((.tcp(dest.ipv4, port), Flow(from: from, to: to, protocol: 6, port: port)))
                }
                for port: UInt16 in [80, 8080] {
                    probes.append((.udp(dest.ipv4, port), Flow(from: from, to: to, protocol: 17, port: port)))
                }
                probes.append((.ping(dest.ipv4), Flow(from: from, to: to, protocol: 1, icmpType: 8, icmpCode: 0)))
                // IPv6: the same rules rendered into ip6tables / the ip6 table.
                for port: UInt16 in [80, 5432] {
                    probes.append((.tcp(dest.ipv6, port), Flow(from: from, to: to, protocol: 6, port: port, family: .v6)))
                }
                probes.append((.udp(dest.ipv6, 8080), Flow(from: from, to: to, protocol: 17, port: 8080, family: .v6)))
                probes.append((.ping(dest.ipv6), Flow(from: from, to: to, protocol: 58, icmpType: 128, icmpCode: 0, family: .v6)))
            }
            plans.append((source, i, probes))
        }
        let results = try await withThrowingTaskGroup(of: (Int, [Probe: Bool]).self) { group in
            for (source, i, probes) in plans {
                group.addTask { (i, try node.probe(from: source, probes.map(\.0))) }
            }
            var all: [Int: [Probe: Bool]] = [:]
            for try await (i, r) in group { all[i] = r }
            return all
        }
        var compared = 0, denied = 0
        for (source, i, probes) in plans {
            var kernel = results[i] ?? [:]
            let verdicts = probes.map { compiled.simulate($0.1) }
            // Allowed flows that missed the deadline on a loaded machine: ask again (a denied flow
            // never gets through, so this cannot hide a wrong verdict).
            let late = zip(probes, verdicts).filter { $1.allowed && kernel[$0.0] == false }.map(\.0.0)
            if !late.isEmpty { for (p, ok) in try node.probe(from: source, late, timeout: 2) { kernel[p] = ok } }
            for ((probe, flow), verdict) in zip(probes, verdicts) {
                compared += 1
                if !verdict.allowed { denied += 1 }
                if kernel[probe] != verdict.allowed {
                    Issue.record("""
                        seed \(seed) (\(backend), \(phase)): \(cluster.workloads[i].name) → \(probe): kernel \(kernel[probe] == true ? "allowed" : "denied"), \
                        simulator \(verdict.allowed ? "allowed" : "denied") by \(verdict.decidedBy) (flow \(flow))
                        workloads: \(cluster.workloads.map { "\($0.name) ns=\($0.namespace) sa=\($0.serviceAccount) \($0.ipv4) \($0.labels)" })
                        policies:
                        \(cluster.policies.joined(separator: "\n"))
                        tiers: \(cluster.tiers)
                        """)
                }
            }
        }
        return (compared, denied)
    }
}
