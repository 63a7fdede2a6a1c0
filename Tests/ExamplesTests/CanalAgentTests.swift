import CanalTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `canal-agent` end to end: a real etcd, the agent in a node namespace with workload namespaces,
/// changes made with canalctl, real packets.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun && EtcdServer.shouldRun, "needs root and etcd (or CI=true)"))
struct CanalAgentTests {
    /// Policy, label and profile changes are enforced within a second; a flushed chain and a
    /// deleted hook come back; a restart never lets a denied flow through; `--cleanup` restores
    /// the tables exactly, foreign rules included.
    @Test(.timeLimit(.minutes(3))) func iptablesLifecycle() async throws {
        try await AgentHarness.with(test: "agent-ipt") { h in
            // A foreign rule and set that must survive everything.
            // (One in each chain Canal hooks, which also makes iptables-nft create those chains.)
            for chain in ["INPUT", "FORWARD", "OUTPUT"] {
                try h.node.exec(["iptables", "-A", chain, "-s", "192.0.2.1", "-j", "DROP"])
                try h.node.exec(["ip6tables", "-A", chain, "-s", "2001:db8::1", "-j", "DROP"])
            }
            try h.node.exec(["ipset", "create", "foreign-set", "hash:ip"])
            let before = try h.kernelState()

            try h.apply(AgentHarness.cluster)
            let agent = try h.startAgent()
            try await h.waitInSync(agent)
            let (client, db, other) = (h.client, h.db, h.other)
            // The first IPv6 probes wait for neighbour discovery through proxy NDP.
            try await h.expectEventually(within: 5, from: client, [
                .tcp(db.ipv4, 8080): true, .tcp(db.ipv4, 9090): false, .tcp(db.ipv6, 8080): true, .tcp(db.ipv6, 9090): false,
            ])
            try await h.expectEventually(within: 1, from: other, [.tcp(db.ipv4, 8080): false, .tcp(client.ipv4, 8080): true])

            // Policy change: the allowed port moves.
            try h.apply(AgentHarness.dbPolicy(port: 9090))
            try await h.expectEventually(within: 1, from: client, [.tcp(db.ipv4, 8080): false, .tcp(db.ipv4, 9090): true])
            // Label change: `other` becomes a client.
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: WorkloadEndpoint
                metadata: {name: node1-k8s-other-eth0, namespace: default, labels: {role: client}}
                spec: {orchestrator: k8s, node: node1, pod: other, endpoint: eth0, interfaceName: calic0000000003, ipNetworks: [198.18.0.3/32, fd5e:ca1::3/128], profiles: [kns.default]}
                """)
            try await h.expectEventually(within: 1, from: other, [.tcp(db.ipv4, 9090): true, .tcp(db.ipv6, 9090): true])
            // Profile change: endpoints no policy selects for ingress fall back to the profile.
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: Profile
                metadata: {name: kns.default}
                spec:
                  ingress: [{action: Deny}]
                  egress: [{action: Allow}]
                """)
            try await h.expectEventually(within: 1, from: other, [.tcp(client.ipv4, 8080): false, .tcp(db.ipv4, 9090): true])

            // Drift: flush the db's ingress chain and delete the FORWARD hook behind the agent's back.
            try h.node.exec(["iptables", "-F", "cali-tw-calib0000000002"])
            try h.node.exec(["iptables", "-D", "FORWARD", "1"])
            let repaired = try await h.expectEventually(within: 4, from: client, [.tcp(db.ipv4, 8080): false, .tcp(db.ipv4, 9090): true])
            #expect(!(try h.node.exec(["iptables", "-S", "cali-tw-calib0000000002"]).split(separator: "\n").count <= 1))
            #expect(try h.node.exec(["iptables", "-S", "FORWARD"]).contains("cali-FORWARD"))
            #expect(agent.logText.contains("restoring"), "repaired after \(repaired) s")

            // Restart while probing: the denied flow (client → db:8080) never passes.
            let counters = ProbeCounters()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !counters.stop.load(ordering: .relaxed) {
                        let result = try h.node.probe(from: client, [.tcp(db.ipv4, 8080), .udp(db.ipv4, 8080)], timeout: 0.2)
                        counters.probes.add(1, ordering: .relaxed)
                        if result.values.contains(true) { counters.leaks.add(1, ordering: .relaxed) }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(agent.terminate() == 0, "agent exit: \(agent.logText.suffix(2000))")
                try await Task.sleep(for: .milliseconds(500))
                let second = try h.startAgent(name: "second")
                try await h.waitInSync(second)
                try await Task.sleep(for: .milliseconds(500))
                counters.stop.store(true, ordering: .relaxed)
                try await group.waitForAll()
                #expect(second.terminate() == 0)
            }
            #expect(counters.leaks.load(ordering: .relaxed) == 0)
            #expect(counters.probes.load(ordering: .relaxed) >= 3)

            // Cleanup leaves exactly the tables of before the agent.
            let cleanup = try h.runAgent(["--cleanup"])
            #expect(cleanup.status == 0, "\(cleanup.output)")
            let after = try h.kernelState()
            #expect(after == before)
            if after != before { print("BEFORE\n\(before)\nAFTER\n\(after)") }
        }
    }
}

extension CanalAgentTests {
    /// etcd killed for 10 s: enforcement stays. Then the agent is cut off from etcd while etcd is
    /// back and a change is made; once the agent reaches etcd again the change is enforced.
    @Test(.timeLimit(.minutes(2))) func etcdOutage() async throws {
        try await AgentHarness.with(test: "agent-etcd") { h in
            try h.apply(AgentHarness.cluster)
            let agent = try h.startAgent()
            try await h.waitInSync(agent)
            let (client, db, other) = (h.client, h.db, h.other)
            let steady: [Probe: Bool] = [.tcp(db.ipv4, 8080): true, .tcp(db.ipv4, 9090): false]
            try await h.expectEventually(within: 1, from: client, steady)

            h.etcd.kill()
            let start = Date()
            var rounds = 0
            while Date().timeIntervalSince(start) < 10 {
                #expect(try h.reach(from: client, Array(steady.keys)) == steady)
                #expect(try h.reach(from: other, [.tcp(db.ipv4, 8080)]) == [.tcp(db.ipv4, 8080): false])
                rounds += 1
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(rounds >= 5)
            #expect(agent.isRunning)

            // A change the agent cannot see yet: etcd is back, the agent is partitioned from it.
            h.forwarder.stop()
            try await h.etcd.start()
            try h.apply(AgentHarness.dbPolicy(port: 9090))
            try await Task.sleep(for: .seconds(1))
            #expect(try h.reach(from: client, Array(steady.keys)) == steady)
            try h.forwarder.start()
            let took = try await h.expectEventually(
                within: 8, from: client, [.tcp(db.ipv4, 8080): false, .tcp(db.ipv4, 9090): true])
            print("change made during the partition enforced \(took) s after the agent could reach etcd again")
            try await h.waitInSync(agent)
            #expect(agent.terminate() == 0)
            #expect(try h.runAgent(["--cleanup"]).status == 0)
        }
    }

    /// The nft dataplane: initial state, a change within a second, a flushed chain restored,
    /// `--once`, and `--cleanup` removing the tables.
    @Test(.timeLimit(.minutes(2))) func nftables() async throws {
        try await AgentHarness.with(test: "agent-nft") { h in
            try h.apply(AgentHarness.cluster)
            let once = try h.runAgent(["--node", AgentHarness.nodeName, "--dataplane", "nft", "--once",
                                       "--etcd-endpoints", h.etcd.endpoint])
            #expect(once.status == 0, "\(once.output)")
            let (client, db, other) = (h.client, h.db, h.other)
            try await h.expectEventually(within: 1, from: client, [.tcp(db.ipv4, 8080): true, .tcp(db.ipv4, 9090): false])

            let agent = try h.startAgent(["--dataplane", "nft"])
            try await h.waitInSync(agent)
            try await h.expectEventually(within: 5, from: client, [.tcp(db.ipv6, 8080): true, .tcp(db.ipv6, 9090): false])
            try await h.expectEventually(within: 1, from: other, [.tcp(db.ipv4, 8080): false])
            try h.apply(AgentHarness.dbPolicy(port: 9090))
            try await h.expectEventually(within: 1, from: client, [.tcp(db.ipv4, 8080): false, .tcp(db.ipv4, 9090): true])

            try h.node.exec(["nft", "flush", "chain", "ip", "canal", "filter-cali-tw-calib0000000002"])
            try await h.expectEventually(within: 4, from: other, [.tcp(db.ipv4, 9090): false])
            #expect(agent.logText.contains("replacing"))
            #expect(agent.terminate() == 0)

            #expect(try h.runAgent(["--cleanup"]).status == 0)
            #expect(!(try h.node.exec(["nft", "list", "tables"]).contains("canal")))
            #expect(try h.reach(from: other, [.tcp(db.ipv4, 9090)]) == [.tcp(db.ipv4, 9090): true])
        }
    }
}

extension CanalAgentTests {
    /// A host endpoint: the node's interface toward an external peer, selected by a policy that
    /// canal-agent enforces on packets to the node itself; a change of the policy changes what
    /// reaches the host, and `--cleanup` opens it again.
    @Test(.timeLimit(.minutes(2))) func hostEndpoint() async throws {
        try await AgentHarness.with(test: "agent-hep") { h in
            let ext = try h.node.addExternal("ext", interface: "ext0", nodeIPv4: "198.18.10.1", nodeIPv6: "fd5e:ca1:10::1",
                                             ipv4: "198.18.10.2", ipv6: "fd5e:ca1:10::2")
            let host = h.node.host(ipv4: "198.18.10.1", ipv6: "fd5e:ca1:10::1")
            try h.node.listen(in: host, ports: [8080, 9090])
            try h.apply(AgentHarness.cluster)
            let agent = try h.startAgent()
            try await h.waitInSync(agent)
            // No host endpoint: the agent leaves the host's own traffic alone.
            try await h.expectEventually(within: 5, from: ext, [.tcp(host.ipv4, 8080): true, .tcp(host.ipv4, 9090): true])

            func hostPolicy(port: Int) -> String {
                """
                apiVersion: projectcalico.org/v3
                kind: GlobalNetworkPolicy
                metadata: {name: host-ingress}
                spec:
                  order: 10
                  selector: hep == 'ext'
                  types: [Ingress]
                  ingress:
                  - {action: Allow, protocol: TCP, source: {nets: [198.18.10.0/24]}, destination: {ports: [\(port)]}}
                """
            }
            try h.apply("""
                apiVersion: projectcalico.org/v3
                kind: HostEndpoint
                metadata: {name: node1-ext0, labels: {hep: ext}}
                spec: {node: \(AgentHarness.nodeName), interfaceName: ext0, expectedIPs: [198.18.10.1, fd5e:ca1:10::1]}
                ---
                \(hostPolicy(port: 8080))
                """)
            try await h.expectEventually(within: 1, from: ext, [.tcp(host.ipv4, 8080): true, .tcp(host.ipv4, 9090): false])
            try h.apply(hostPolicy(port: 9090))
            try await h.expectEventually(within: 1, from: ext, [.tcp(host.ipv4, 8080): false, .tcp(host.ipv4, 9090): true])
            // Workload policy is unaffected by the host endpoint.
            try await h.expectEventually(within: 1, from: h.client, [.tcp(h.db.ipv4, 8080): true, .tcp(h.db.ipv4, 9090): false])

            #expect(agent.terminate() == 0)
            #expect(try h.runAgent(["--cleanup"]).status == 0)
            try await h.expectEventually(within: 1, from: ext, [.tcp(host.ipv4, 8080): true, .tcp(host.ipv4, 9090): true])
        }
    }
}

/// Counters shared by a probing task and the test.
final class ProbeCounters: Sendable {
    let stop = Atomic<Bool>(false)
    let leaks = Atomic<Int>(0)
    let probes = Atomic<Int>(0)
}
