@testable import CanalAgent
import CanalDatastore
import CanalModel
import CanalPolicy
import Testing

/// A kernel stand-in for `iptables-restore --noflush`: applies the planner's lines to a snapshot.
struct FakeIptables {
    var snapshot = IptablesSnapshot()

    mutating func restore(_ input: String) {
        var table = ""
        for line in input.split(separator: "\n").map(String.init) where line != "COMMIT" {
            if line.hasPrefix("*") {
                table = String(line.dropFirst())
                if snapshot.tables[table] == nil {
                    var t = IptablesTableSnapshot()
                    for chain in ["INPUT", "FORWARD", "OUTPUT"] {
                        t.chainOrder.append(chain)
                        t.builtIn.insert(chain)
                        t.rules[chain] = []
                    }
                    snapshot.tables[table] = t
                }
            } else if line.hasPrefix(":") {
                let name = String(line.dropFirst().split(separator: " ")[0])
                if snapshot.tables[table]!.rules[name] == nil { snapshot.tables[table]!.chainOrder.append(name) }
                snapshot.tables[table]!.rules[name] = []
            } else if line.hasPrefix("-X ") {
                let name = String(line.dropFirst(3))
                #expect(snapshot.tables[table]!.rules[name]?.isEmpty == true, "deleting non-empty \(name)")
                snapshot.tables[table]!.rules[name] = nil
                snapshot.tables[table]!.chainOrder.removeAll { $0 == name }
            } else {
                let words = line.split(separator: " ", maxSplits: 2).map(String.init)
                let (op, chain) = (words[0], words[1])
                #expect(snapshot.tables[table]!.rules[chain] != nil, "\(line): no chain \(chain)")
                switch op {
                case "-A":
                    let text = words[2]
                    snapshot.tables[table]!.rules[chain]!.append(.init(hash: IptablesSnapshot.hash(in: text), text: text))
                case "-I":
                    let text = String(words[2].dropFirst(2))  // "1 "
                    snapshot.tables[table]!.rules[chain]!.insert(.init(hash: IptablesSnapshot.hash(in: text), text: text), at: 0)
                case "-D":
                    let index = snapshot.tables[table]!.rules[chain]!.firstIndex { $0.text == words[2] }
                    #expect(index != nil, "\(line): no such rule")
                    if let index { snapshot.tables[table]!.rules[chain]!.remove(at: index) }
                default:
                    Issue.record("unexpected line \(line)")
                }
            }
        }
    }
}

func resource(_ json: String) throws -> any AnyResource {
    try readResource(try JSONValue(parsing: json))
}

/// A small cluster: two endpoints on node1 and a policy allowing `port` to the db.
func cluster(port: Int, clientRole: String = "client", withPolicy: Bool = true) throws -> ClusterState {
    var items: [any AnyResource] = [
        try resource(#"{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"kns.default"},"spec":{"ingress":[{"action":"Allow"}],"egress":[{"action":"Allow"}]}}"#),
        try resource(#"{"apiVersion":"projectcalico.org/v3","kind":"WorkloadEndpoint","metadata":{"name":"node1-k8s-a-eth0","namespace":"default","labels":{"role":"\#(clientRole)"}},"spec":{"orchestrator":"k8s","node":"node1","pod":"a","endpoint":"eth0","interfaceName":"calia1","ipNetworks":["10.65.0.1/32","fd00::1/128"],"profiles":["kns.default"]}}"#),
        try resource(#"{"apiVersion":"projectcalico.org/v3","kind":"WorkloadEndpoint","metadata":{"name":"node1-k8s-b-eth0","namespace":"default","labels":{"role":"db"}},"spec":{"orchestrator":"k8s","node":"node1","pod":"b","endpoint":"eth0","interfaceName":"calib2","ipNetworks":["10.65.0.2/32"],"profiles":["kns.default"]}}"#),
    ]
    if withPolicy {
        items.append(try resource(#"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"db"},"spec":{"order":10,"selector":"role == 'db'","types":["Ingress"],"ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"role == 'client'"},"destination":{"ports":[\#(port)]}}]}}"#))
    }
    return ClusterState(resources: items)
}

@Suite struct PlannerTests {
    let planner = IptablesPlanner()

    static let variants: [(Int, String, Bool)] = [(8080, "client", true), (9090, "client", true), (8080, "other", true), (8080, "client", false)]

    /// From any state to any other: one plan converges (the next plan is empty), and the
    /// foreign rules in the kernel chains stay where they were.
    @Test(arguments: variants.indices, variants.indices)
    func convergesFromAnyState(from: Int, to: Int) throws {
        let a = try PolicyCompiler.compile(cluster(port: Self.variants[from].0, clientRole: Self.variants[from].1, withPolicy: Self.variants[from].2), node: "node1").ipv4
        let b = try PolicyCompiler.compile(cluster(port: Self.variants[to].0, clientRole: Self.variants[to].1, withPolicy: Self.variants[to].2), node: "node1").ipv4
        var kernel = FakeIptables()
        kernel.restore("*filter\n-A FORWARD -s 192.0.2.1/32 -j DROP\n-A INPUT -j ACCEPT\nCOMMIT\n")
        kernel.restore(IptablesPlanner.plan(desired: a, actual: kernel.snapshot))
        #expect(IptablesPlanner.plan(desired: a, actual: kernel.snapshot).isEmpty)
        let delta = IptablesPlanner.plan(desired: b, actual: kernel.snapshot)
        // (A label change alters only IP set members, not chains.)
        #expect(a.tables == b.tables ? delta.isEmpty : !delta.isEmpty)
        #expect(from == to || a != b)
        let believed = kernel.snapshot.applying(delta)  // what the agent assumes without reading back
        kernel.restore(delta)
        #expect(IptablesPlanner.plan(desired: b, actual: kernel.snapshot).isEmpty)
        #expect(IptablesPlanner.plan(desired: b, actual: believed).isEmpty)
        #expect(believed.tables["filter"]?.rules == kernel.snapshot.tables["filter"]?.rules)
        let forward = kernel.snapshot.tables["filter"]!.rules["FORWARD"]!
        #expect(forward.filter { !$0.isOwned }.map(\.text) == ["-s 192.0.2.1/32 -j DROP"])
        #expect(forward.first?.text.contains("cali-FORWARD") == true)
        // A delta touches only chains that changed: never more than a full write.
        #expect(delta.utf8.count <= IptablesRenderer().restoreInput(b).utf8.count + 200)
    }

    /// An incremental apply: the incremental compiler's update from any state to any other,
    /// planned only over the chains and sets it touched (as the agent does when its model of the
    /// kernel is what it last wrote), converges like a full plan and writes no more than one.
    @Test(arguments: variants.indices, variants.indices)
    func scopedPlanConverges(from: Int, to: Int) throws {
        func state(_ i: Int) throws -> ClusterState {
            try cluster(port: Self.variants[i].0, clientRole: Self.variants[i].1, withPolicy: Self.variants[i].2)
        }
        var session = try IncrementalPolicyCompiler(state(from), node: "node1")
        let a = session.compiled
        var changes: [ClusterChange] = try state(to).workloadEndpoints.map { .put($0) }
        changes += try state(to).globalNetworkPolicies.map { .put($0) }
        if try state(to).globalNetworkPolicies.isEmpty { changes.append(.delete(.globalNetworkPolicy, name: "db")) }
        let update = try session.apply(changes)
        let b = update.compiled
        #expect(b == (try PolicyCompiler.compile(state(to), node: "node1")))
        let scope = ChangeScope(update.ipv4, update.ipv6)

        var kernel = FakeIptables()
        kernel.restore("*filter\n-A FORWARD -s 192.0.2.1/32 -j DROP\nCOMMIT\n")
        kernel.restore(IptablesPlanner.plan(desired: a.ipv4, actual: kernel.snapshot))
        var planner = IptablesPlanner()
        #expect(planner.restoreInput(desired: a.ipv4, actual: kernel.snapshot).isEmpty)
        let full = IptablesPlanner.plan(desired: b.ipv4, actual: kernel.snapshot)
        let scoped = planner.restoreInput(desired: b.ipv4, actual: kernel.snapshot, only: scope.v4Chains)
        #expect(Set(scoped.split(separator: "\n")) == Set(full.split(separator: "\n")))
        kernel.restore(scoped)
        #expect(IptablesPlanner.plan(desired: b.ipv4, actual: kernel.snapshot).isEmpty)

        let setsBefore = IPSetSnapshot(a.ipv4.ipSets + a.ipv6.ipSets)
        let desiredSets = b.ipv4.ipSets + b.ipv6.ipSets
        let fullSets = planner.ipSetScripts(desired: desiredSets, actual: setsBefore)
        let scopedSets = planner.ipSetScripts(desired: desiredSets, actual: setsBefore, only: scope.sets)
        #expect(Set(scopedSets.before.split(separator: "\n")) == Set(fullSets.before.split(separator: "\n")))
        #expect(scopedSets.destroy == fullSets.destroy)
    }

    /// A change of one policy rewrites that policy's chain and nothing else.
    @Test func policyChangeTouchesOneChain() throws {
        let a = try PolicyCompiler.compile(cluster(port: 8080), node: "node1").ipv4
        let b = try PolicyCompiler.compile(cluster(port: 9090), node: "node1").ipv4
        var kernel = FakeIptables()
        kernel.restore(IptablesPlanner.plan(desired: a, actual: kernel.snapshot))
        let delta = IptablesPlanner.plan(desired: b, actual: kernel.snapshot)
        let declared = delta.split(separator: "\n").filter { $0.hasPrefix(":") }
        #expect(declared == [":cali-pi-gnp/db - -"])
        #expect(!delta.contains("-D ") && !delta.contains("-X "))
    }

    /// Drift: a flushed chain, a deleted hook, a hook pushed down by a foreign insert, and a
    /// stray `cali-` chain are all repaired.
    @Test func repairsDrift() throws {
        let a = try PolicyCompiler.compile(cluster(port: 8080), node: "node1").ipv4
        var kernel = FakeIptables()
        kernel.restore(IptablesPlanner.plan(desired: a, actual: kernel.snapshot))
        kernel.snapshot.tables["filter"]!.rules["cali-tw-calib2"] = []
        kernel.snapshot.tables["filter"]!.rules["OUTPUT"] = []
        kernel.snapshot.tables["filter"]!.rules["INPUT"]!.insert(.init(hash: nil, text: "-j ACCEPT"), at: 0)
        kernel.restore("*filter\n:cali-stray - -\n-A cali-stray -j DROP\nCOMMIT\n")
        let repair = IptablesPlanner.plan(desired: a, actual: kernel.snapshot)
        #expect(repair.contains(":cali-tw-calib2 - -"))
        #expect(repair.contains("-X cali-stray"))
        kernel.restore(repair)
        #expect(IptablesPlanner.plan(desired: a, actual: kernel.snapshot).isEmpty)
        #expect(kernel.snapshot.tables["filter"]!.rules["INPUT"]!.map(\.isOwned) == [true, false])
    }

    /// Cleanup (an empty desired state) removes every Canal chain and hook and nothing else.
    @Test func cleanupRemovesOnlyCanal() throws {
        let a = try PolicyCompiler.compile(cluster(port: 8080), node: "node1").ipv4
        var kernel = FakeIptables()
        kernel.restore("*filter\n:foreign - -\n-A foreign -j RETURN\n-A FORWARD -j foreign\nCOMMIT\n")
        let before = kernel.snapshot
        kernel.restore(IptablesPlanner.plan(desired: a, actual: kernel.snapshot))
        kernel.restore(IptablesPlanner.plan(desired: RuleSet(family: .v4), actual: kernel.snapshot))
        #expect(kernel.snapshot == before)
    }

    @Test func parsesIptablesSave() {
        let text = """
            # Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 29 01:00:00 2026
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [10:600]
            :cali-FORWARD - [0:0]
            -A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
            -A FORWARD -s 192.0.2.1/32 -j DROP
            -A cali-FORWARD -m comment --comment "cali:vjrMJCRpqwy5oRoX" -j MARK --set-xmark 0x0/0xe0000
            COMMIT
            """
        let snapshot = IptablesSnapshot(parsing: text)
        let filter = snapshot.tables["filter"]!
        #expect(filter.builtIn == ["INPUT", "FORWARD"])
        #expect(filter.ownedChains == ["cali-FORWARD"])
        #expect(filter.rules["FORWARD"]!.map(\.hash) == ["wUHhoiAYhphO9Mso", nil])
        #expect(filter.rules["FORWARD"]!.map(\.isOwned) == [true, false])
        #expect(filter.rules["cali-FORWARD"]!.map(\.hash) == ["vjrMJCRpqwy5oRoX"])
    }

    @Test func ipSetScripts() throws {
        let text = """
            create cali40s:aaa hash:net family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x1
            add cali40s:aaa 10.65.0.1
            add cali40s:aaa 10.65.0.9
            create cali40s:old hash:net family inet hashsize 1024 maxelem 1048576
            create cali40s:typ hash:ip family inet hashsize 1024 maxelem 1048576
            create foreign hash:ip family inet hashsize 1024 maxelem 65536
            add foreign 192.0.2.1
            """
        let actual = IPSetSnapshot(parsing: text)
        #expect(actual.sets.keys.sorted() == ["cali40s:aaa", "cali40s:old", "cali40s:typ"])
        let wanted = [
            IPSet(name: "cali40s:aaa", type: .hashNet, family: .v4, members: [.net(CIDR("10.65.0.1/32")!), .net(CIDR("10.65.0.2/32")!)]),
            IPSet(name: "cali40s:typ", type: .hashNet, family: .v4, members: [.net(CIDR("10.0.0.0/8")!)]),
            IPSet(name: "cali40s:new", type: .hashNet, family: .v4, members: [.net(CIDR("10.65.0.3/32")!)]),
        ]
        let (before, destroy) = planner.ipSetScripts(desired: wanted, actual: actual)
        #expect(before == """
            add cali40s:aaa 10.65.0.2 -exist
            del cali40s:aaa 10.65.0.9 -exist
            create cali4t0 hash:net family inet maxelem 1048576
            add cali4t0 10.0.0.0/8
            swap cali4t0 cali40s:typ
            destroy cali4t0
            create cali40s:new hash:net family inet maxelem 1048576
            add cali40s:new 10.65.0.3
            COMMIT

            """)
        #expect(destroy == ["cali40s:old"])
        #expect(planner.ipSetScripts(desired: [wanted[0]], actual: IPSetSnapshot(parsing: """
            create cali40s:aaa hash:net family inet maxelem 1048576
            add cali40s:aaa 10.65.0.1
            add cali40s:aaa 10.65.0.2
            """)) == ("", []))
    }
}

@Suite struct ClusterCacheTests {
    /// Applies a put (or, with nil, a delete) as the syncer would deliver it.
    @discardableResult
    static func apply(_ cache: inout ClusterCache, _ key: String, _ json: String?) -> String? {
        guard let json else { return cache.delete(key) }
        do {
            return cache.put(key, try readResource(try JSONValue(parsing: json)), error: "")
        } catch {
            return cache.put(key, nil, error: "\(error)")
        }
    }

    /// A value that does not decode keeps the key's last good value (fail closed); a delete removes it.
    @Test func undecodableKeepsLastGood() throws {
        var cache = ClusterCache()
        let key = "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/db"
        let good = #"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"db"},"spec":{"selector":"all()","types":["Ingress"]}}"#
        #expect(Self.apply(&cache, key, good) == nil)
        #expect(Self.apply(&cache, key, #"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"db"},"spec":{"selector":"(("}}"#) != nil)
        #expect(cache.clusterState().globalNetworkPolicies.map(\.metadata.name) == ["db"])
        #expect(cache.undecodable.keys.sorted() == [key])
        Self.apply(&cache, key, nil)
        #expect(cache.clusterState().globalNetworkPolicies.isEmpty)
        #expect(cache.undecodable.isEmpty)
    }

    /// The node's own FelixConfiguration wins over `default`.
    @Test func felixConfigurationPerNode() throws {
        var cache = ClusterCache()
        Self.apply(&cache, "/calico/resources/v3/projectcalico.org/felixconfigurations/default",
                                    #"{"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"default"},"spec":{"defaultEndpointToHostAction":"Accept"}}"#)
        #expect(try cache.dataplaneConfiguration(node: "node1").endpointToHostAction == .accept)
        Self.apply(&cache, "/calico/resources/v3/projectcalico.org/felixconfigurations/node.node1",
                                    #"{"apiVersion":"projectcalico.org/v3","kind":"FelixConfiguration","metadata":{"name":"node.node1"},"spec":{"defaultEndpointToHostAction":"Return"}}"#)
        #expect(try cache.dataplaneConfiguration(node: "node1").endpointToHostAction == .return)
        #expect(try cache.dataplaneConfiguration(node: "node2").endpointToHostAction == .accept)
    }
}

extension IptablesPlanner {
    /// A plan by a fresh planner (no hash cache).
    static func plan(desired: RuleSet, actual: IptablesSnapshot) -> String {
        var planner = IptablesPlanner()
        return planner.restoreInput(desired: desired, actual: actual)
    }
}

@Suite struct PlannerCacheTests {
    /// A planner reused across plans (as the agent does) plans exactly what a fresh one plans.
    @Test func cachedHashesPlanLikeFresh() throws {
        var planner = IptablesPlanner()
        var kernel = FakeIptables()
        for port in [8080, 9090, 8080, 7070] {
            let desired = try PolicyCompiler.compile(cluster(port: port), node: "node1").ipv4
            let fresh = IptablesPlanner.plan(desired: desired, actual: kernel.snapshot)
            #expect(planner.restoreInput(desired: desired, actual: kernel.snapshot) == fresh)
            kernel.restore(fresh)
        }
    }
}
