import CanalModel
import CanalPolicy
import Testing

@Suite struct CompilerTests {
    static func workedExample(web: String = "10.65.0.2") throws -> ClusterState {
        ClusterState(resources: [
            try Resources.workload("web", interface: WorkedExample.webInterface, ips: ["\(web)/32"], labels: ["app": "web"]),
            try Resources.workload("db", interface: WorkedExample.dbInterface, ips: ["10.65.0.3/32"], labels: ["app": "db"]),
            try Resources.allowAllProfile(),
            try Resources.globalPolicy("allow-web-to-db", """
            {"order": 100, "selector": "app == 'db'", "types": ["Ingress"],
             "ingress": [{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"}, "destination": {"ports": [5432]}}]}
            """),
        ])
    }

    /// The reference's worked example (felix-rules.md §8), compiled, is the hand-built layout.
    @Test func workedExampleMatchesFelixLayout() throws {
        let compiled = try PolicyCompiler.compile(Self.workedExample(), node: "node1")
        let expected = WorkedExample.ruleSet()
        let table = try #require(compiled.ipv4.table(.filter))
        let want = try #require(expected.table(.filter)).prunedToReachable()
        #expect(table.chains.map(\.name).sorted() == want.chains.map(\.name).sorted())
        for chain in want.chains { #expect(table.chain(named: chain.name) == chain, "chain \(chain.name)") }
        #expect(table.hooks == want.hooks)
        #expect(compiled.ipv4.ipSets == expected.ipSets)
        #expect(compiled.ipv4.problems().isEmpty)
        #expect(compiled.ipv6.problems().isEmpty)
        // The same input compiles to the same output.
        #expect(try PolicyCompiler.compile(Self.workedExample(), node: "node1") == compiled)
        // Another node has no endpoints: no endpoint chains.
        let other = try PolicyCompiler.compile(Self.workedExample(), node: "node2")
        #expect(other.ipv4.table(.filter)!.chains.allSatisfy { !$0.name.hasPrefix("cali-tw-") })
    }

    @Test func simulatorOnWorkedExample() throws {
        let compiled = try PolicyCompiler.compile(Self.workedExample(), node: "node1")
        let web = Resources.id("web"), db = Resources.id("db")
        let allowed = compiled.simulate(Flow(from: .endpoint(web), to: .endpoint(db), protocol: 6, port: 5432))
        #expect(allowed.allowed)
        #expect(allowed.decidedBy.reason == .policyRule)
        #expect(allowed.decidedBy.policy == "gnp/allow-web-to-db")
        #expect(allowed.decidedBy.ruleIndex == 0)
        #expect(allowed.steps.count == 2)
        let denied = compiled.simulate(Flow(from: .endpoint(web), to: .endpoint(db), protocol: 6, port: 80))
        #expect(!denied.allowed)
        #expect(denied.decidedBy.reason == .endOfTier)
        #expect(denied.decidedBy.tier == "default")
        let back = compiled.simulate(Flow(from: .endpoint(db), to: .endpoint(web), protocol: 17, port: 53))
        #expect(back.allowed)
        #expect(back.decidedBy.reason == .profileRule)
        #expect(back.decidedBy.profile == "kns.default")
        let vxlan = compiled.simulate(Flow(from: .endpoint(db), to: .endpoint(web), protocol: 17, port: 4789))
        #expect(vxlan.decidedBy.reason == .encapsulationFromWorkload)
        let outsider = compiled.simulate(Flow(from: .address(IPAddress("10.9.9.9")!), to: .endpoint(db), protocol: 6, port: 5432))
        #expect(!outsider.allowed)
    }

    /// Three positive OR-blocks in one rule: Felix would over-match; the compiled rule does not.
    @Test func threeOrBlocksAreCorrect() throws {
        let cluster = ClusterState(resources: [
            try Resources.workload("a", interface: "calia", ips: ["10.0.0.1/32"], labels: ["app": "a"], ports: [("web", "TCP", 8080)]),
            try Resources.allowAllProfile(),
            try Resources.globalPolicy("p", """
            {"selector": "app == 'a'", "types": ["Ingress"],
             "ingress": [{"action": "Allow", "protocol": "TCP",
                          "source": {"nets": ["10.1.0.0/16", "10.2.0.0/16"]},
                          "destination": {"nets": ["10.0.0.0/30", "10.0.1.0/30"], "ports": [80, "web"]}}]}
            """),
        ])
        let compiled = try PolicyCompiler.compile(cluster, node: "node1")
        let chain = try #require(compiled.ipv4.table(.filter)?.chain(named: ChainName.policy(PolicyChainID(kind: .globalNetworkPolicy, name: "p"), .ingress)))
        // A reset of the second scratch bit before the third block.
        let s1: UInt32 = 0x100000
        #expect(chain.rules.filter { $0.action == .clearMark(s1) && $0.match.isEmpty }.count == 1)
        let flow = { (src: String, port: UInt16) in
            compiled.simulate(Flow(from: .address(IPAddress(src)!), to: .endpoint(Resources.id("a")), protocol: 6, port: port)).allowed
        }
        #expect(flow("10.1.2.3", 80))
        #expect(flow("10.2.2.3", 8080))
        #expect(!flow("10.3.2.3", 80))
        #expect(!flow("10.1.2.3", 81))
    }
}
