import CanalModel
@testable import CanalPolicy
import CanalSelector
import Testing

/// The resolver's label indexes (policies by the label their selector requires, objects by
/// label) against brute force: every candidate evaluated on every endpoint, every object on
/// every set, on random clusters, before and after relabelling.
@Suite struct ResolverIndexTests {
    static func bruteForceMembers(_ resolver: Resolver, _ id: String) -> Set<IPSetMember> {
        guard let source = resolver.setSources[id] else { return [] }
        var members = Set<IPSetMember>()
        for object in resolver.labelled { members.formUnion(resolver.contributions(of: object, to: source)) }
        return members
    }

    static func check(_ resolver: inout Resolver, _ model: ResolvedNode, seed: UInt64, phase: String) {
        for endpoint in model.endpoints {
            let labels = resolver.labelled[resolver.labelledIndex[endpoint.id]!].labels
            let all = resolver.candidates.filter { $0.selects.matches(labels) }
            let expected = resolver.tiers(all, filter: { !$0.untracked && !$0.preDNAT }, passAtEnd: false)
            #expect(resolver.workloadTiers(endpoint.id) == expected, "seed \(seed) \(phase): tiers of \(endpoint.id)")
        }
        #expect(!resolver.ipSets.isEmpty || resolver.setSources.isEmpty)
        for (id, set) in resolver.ipSets {
            #expect(set.members == bruteForceMembers(resolver, id), "seed \(seed) \(phase): members of \(id)")
        }
    }

    @Test func indexesAgreeWithBruteForce() throws {
        var checkedSets = 0
        for seed in UInt64(1)...150 {
            var cluster = RandomCluster(seed: seed, count: 6)
            cluster.addRemote(4)
            var resolver = Resolver(node: "node1", configuration: .default)
            let model = try resolver.resolve(ClusterState(resources: try cluster.resources()))
            checkedSets += resolver.ipSets.count
            Self.check(&resolver, model, seed: seed, phase: "resolved")
            // Relabel half the workloads: sets follow (the object index is kept up to date).
            for i in stride(from: 0, to: cluster.workloads.count, by: 2) {
                cluster.relabel(i)
                let name = "node1-k8s-\(cluster.workloads[i].name)-eth0"
                let w = ClusterState(resources: try cluster.resources()).workloadEndpoints.first { $0.metadata.name == name }
                let wep = try #require(w)
                _ = resolver.relabel(Resolver.id(of: wep), labels: resolver.effectiveLabels(Resolver.ownLabels(wep), profiles: wep.spec.profiles ?? []))
            }
            Self.check(&resolver, model, seed: seed, phase: "relabelled")
        }
        #expect(checkedSets > 150)
    }
}
