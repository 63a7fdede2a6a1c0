import CanalModel
import CanalPolicy
import PropertyBased
import Testing

/// The incremental compiler against full compiles: after every change of a random sequence the
/// session's compiled policy equals a full compile of the same cluster, and its update equals the
/// diff between the two full compiles.
@Suite struct IncrementalCompilerTests {
    /// One random step: what changes in the generator's cluster and the changes sent to the session.
    static func step(_ cluster: inout RandomCluster, next: inout Int) throws -> [ClusterChange] {
        func policyChange(_ json: String, replacing old: String?) throws -> [ClusterChange] {
            let new = try Resources.read(json)
            var changes: [ClusterChange] = []
            if let old {
                let previous = try Resources.read(old)
                if previous.kind != new.kind || previous.metadata.namespace != new.metadata.namespace
                    || previous.metadata.name != new.metadata.name {
                    changes.append(.delete(previous.kind, namespace: previous.metadata.namespace, name: previous.metadata.name ?? ""))
                }
            }
            return changes + [.put(new)]
        }
        switch Int.random(in: 0..<10, using: &cluster.rng) {
        case 0, 1:  // a policy's content changes (same name)
            guard !cluster.policies.isEmpty else { fallthrough }
            let i = Int.random(in: 0..<cluster.policies.count, using: &cluster.rng)
            let old = cluster.policies[i]
            let name = try Resources.read(old).metadata.name ?? ""
            let index = Int(name.split(separator: "p").last ?? "0") ?? 0
            cluster.policies[i] = cluster.randomPolicy(index)
            return try policyChange(cluster.policies[i], replacing: old)
        case 2:  // a new policy
            next += 1
            cluster.policies.append(cluster.randomPolicy(100 + next))
            return try policyChange(cluster.policies.last!, replacing: nil)
        case 3:  // a policy deleted
            guard !cluster.policies.isEmpty else { return [] }
            let old = try Resources.read(cluster.policies.remove(at: Int.random(in: 0..<cluster.policies.count, using: &cluster.rng)))
            return [.delete(old.kind, namespace: old.metadata.namespace, name: old.metadata.name ?? "")]
        case 4, 5, 6:  // a local workload's labels change
            let i = Int.random(in: 0..<cluster.workloads.count, using: &cluster.rng)
            cluster.relabel(i)
            let updated = try cluster.resources()
            return [.put(updated.first { $0.kind == .workloadEndpoint && $0.metadata.name == "node1-k8s-\(cluster.workloads[i].name)-eth0" }!)]
        case 7:  // a remote workload's labels change
            guard !cluster.remote.isEmpty else { return [] }
            let i = Int.random(in: 0..<cluster.remote.count, using: &cluster.rng)
            cluster.remote[i].labels = ["app": cluster.pick(["a", "b", "c"]), "env": cluster.pick(["prod", "dev"])]
            let updated = try cluster.resources()
            return [.put(updated.first { $0.metadata.name == "node2-k8s-\(cluster.remote[i].name)-eth0" }!)]
        case 8:  // two changes at once: a relabel and a policy change
            let i = Int.random(in: 0..<cluster.workloads.count, using: &cluster.rng)
            cluster.relabel(i)
            next += 1
            cluster.policies.append(cluster.randomPolicy(100 + next))
            let updated = try cluster.resources()
            return [.put(updated.first { $0.metadata.name == "node1-k8s-\(cluster.workloads[i].name)-eth0" }!)]
                + (try policyChange(cluster.policies.last!, replacing: nil))
        default:  // a tier appears or changes (a full compile)
            let action = cluster.pick(["Pass", "Deny"])
            let tier = #"{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t1"}, "spec": {"order": \#(cluster.pick([5, 10, 2000000])), "defaultAction": "\#(action)"}}"#
            cluster.tiers = [tier]
            if !cluster.tierNames.contains("t1") { cluster.tierNames.append("t1") }
            return [.put(try Resources.read(tier))]
        }
    }

    @Test func incrementalEqualsFullCompile() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...1_000_000_000)) { seed in
            var cluster = RandomCluster(seed: UInt64(seed), count: 5)
            cluster.addRemote(3)
            var session = try IncrementalPolicyCompiler(ClusterState(resources: cluster.resources()), node: "node1")
            var previous = try PolicyCompiler.compile(ClusterState(resources: cluster.resources()), node: "node1")
            #expect(session.compiled == previous, "seed \(seed): initial state")
            var next = 0
            var incremental = 0
            for stepIndex in 0..<12 {
                let changes = try Self.step(&cluster, next: &next)
                let update = try session.apply(changes)
                let full = try PolicyCompiler.compile(ClusterState(resources: cluster.resources()), node: "node1")
                if update.incremental { incremental += 1 }
                if update.compiled != full {
                    Issue.record("seed \(seed) step \(stepIndex) (incremental: \(update.incremental)): \(Self.difference(update.compiled, full))")
                }
                #expect(session.compiled == update.compiled)
                let (v4, v6) = full.diff(from: previous)
                #expect(update.ipv4 == v4, "seed \(seed) step \(stepIndex): IPv4 update differs (incremental: \(update.incremental))")
                #expect(update.ipv6 == v6, "seed \(seed) step \(stepIndex): IPv6 update differs")
                previous = full
            }
            #expect(incremental > 0, "seed \(seed): no step took an incremental path")
        }
    }

    /// A short account of how two compiled policies differ.
    static func difference(_ a: CompiledPolicy, _ b: CompiledPolicy) -> String {
        var out: [String] = []
        for (x, y) in [(a.ipv4, b.ipv4), (a.ipv6, b.ipv6)] {
            let diff = RuleSetDiff(from: y, to: x)
            for t in diff.tables {
                out.append("\(x.family) \(t.name): extra \(t.added.map(\.name)) missing \(t.removed.map(\.name)) changed \(t.changed.map(\.name))")
            }
            if !diff.ipSets.isEmpty {
                out.append("\(x.family) sets: extra \(diff.ipSets.created.map(\.name)) missing \(diff.ipSets.destroyed.map(\.name)) members \(diff.ipSets.memberChanges.map { "\($0.name) +\($0.added) -\($0.removed)" })")
            }
        }
        if out.isEmpty { out.append("rule sets equal; the resolved models differ") }
        return out.joined(separator: "; ")
    }

    /// A change that does not compile leaves the session as it was.
    @Test func failedChangeKeepsState() throws {
        let cluster = try CompilerTests.workedExample()
        var session = try IncrementalPolicyCompiler(cluster, node: "node1")
        let before = session.compiled
        // Model validation would reject it; the compiler must too (a datastore may hold anything).
        let bad = try readResource(try JSONValue(parsing: """
        {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "bad"},
         "spec": {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"notNets": ["0.0.0.0/0"]}}]}}
        """), validate: false)
        #expect(throws: PolicyCompileError.self) { try session.apply([.put(bad)]) }
        #expect(session.compiled == before)
        #expect(session.cluster.globalNetworkPolicies.count == 1)
        // Still usable: a good change goes through incrementally.
        let good = try Resources.globalPolicy("allow-web-to-db", """
        {"order": 100, "selector": "app == 'db'", "types": ["Ingress"],
         "ingress": [{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"}, "destination": {"ports": [5433]}}]}
        """)
        let update = try session.apply([.put(good)])
        #expect(update.incremental)
        #expect(update.compiled == (try PolicyCompiler.compile(session.cluster, node: "node1")))
        #expect(update.ipv4.tables.count == 1 && update.ipv4.tables[0].changed.map(\.name) == ["cali-pi-gnp/allow-web-to-db"])
    }
}
