import CanalModel
import CanalPolicy
import CanalTesting
import Foundation
import Testing

/// Host endpoint policy stages proven with real packets, per backend (iptables+ipset, nftables):
/// a doNotTrack policy acts in the raw table, before connection tracking (its flows leave no
/// conntrack entry, and its Deny beats a normal Allow), and a preDNAT policy acts in mangle
/// PREROUTING, before DNAT (it matches the port the packet was sent to, not the one it is
/// translated to, and its Allow spares forwarded traffic the applyOnForward policy), as in
/// Felix's layout.
///
/// A peer namespace `ext` sits behind the node's `ext0` (a host endpoint); the node has one
/// workload `web`. DNAT rules in a separate nft table of the node (the kube-proxy role) send
/// ports 9090 and 9091 to `web:80` and port 9092 to the node's own port 443.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"))
struct HostEndpointKernelTests {
    enum Backend { case iptables, nftables }

    static let ext = (iface: "ext0", nodeV4: "198.19.7.1", nodeV6: "fd5e:ca3::1", v4: "198.19.7.2", v6: "fd5e:ca3::2")
    static let web = (iface: "cali00000000web", v4: "198.18.0.20", v6: "fd5e:ca1::20")

    static func gnp(_ name: String, _ spec: String) -> String {
        #"{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "\#(name)"}, "spec": \#(spec)}"#
    }

    static func cluster() throws -> ClusterState {
        var resources: [any AnyResource] = [
            try Resources.workload("web", interface: web.iface, ips: ["\(web.v4)/32", "\(web.v6)/128"], labels: ["app": "web"]),
            try Resources.allowAllProfile(),
            try Resources.read("""
                {"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint", "metadata": {"name": "node1-ext0", "labels": {"hep": "ext"}},
                 "spec": {"node": "node1", "interfaceName": "\(ext.iface)", "expectedIPs": ["\(ext.nodeV4)", "\(ext.nodeV6)"]}}
                """),
        ]
        let policies = [
            // Normal policy, also for forwarded traffic: in, TCP and UDP 8080; ICMPv6 both ways
            // (neighbour discovery).
            gnp("hep-normal", #"{"order": 10, "selector": "hep == 'ext'", "applyOnForward": true, "types": ["Ingress", "Egress"], "ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": [8080]}}, {"action": "Allow", "protocol": "UDP", "destination": {"ports": [8080]}}, {"action": "Allow", "protocol": "ICMPv6"}], "egress": [{"action": "Allow", "protocol": "ICMPv6"}]}"#),
            // Untracked: UDP 8080 denied (though the normal policy allows it); TCP 5432 allowed
            // both ways (no conntrack to let the replies out), though no normal policy allows it.
            gnp("hep-untracked", #"{"order": 1, "selector": "hep == 'ext'", "doNotTrack": true, "applyOnForward": true, "types": ["Ingress", "Egress"], "ingress": [{"action": "Deny", "protocol": "UDP", "destination": {"ports": [8080]}}, {"action": "Allow", "protocol": "TCP", "destination": {"ports": [5432]}}], "egress": [{"action": "Allow", "protocol": "TCP", "source": {"ports": [5432]}}]}"#),
            // Pre-DNAT: the ports as sent, before translation.
            gnp("hep-prednat", #"{"order": 1, "selector": "hep == 'ext'", "preDNAT": true, "applyOnForward": true, "types": ["Ingress"], "ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": [9090, 9092]}}, {"action": "Deny", "protocol": "TCP", "destination": {"ports": [9091]}}]}"#),
        ]
        for p in policies { resources.append(try Resources.read(p)) }
        return ClusterState(resources: resources)
    }

    /// The kube-proxy stand-in: DNAT in the nat hook (after mangle PREROUTING, before filter).
    static let natScript = """
        table inet canal-test-nat {
        \tchain prerouting {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tiifname "\(ext.iface)" meta nfproto ipv4 tcp dport { 9090, 9091 } dnat ip to \(web.v4):80
        \t\tiifname "\(ext.iface)" meta nfproto ipv4 tcp dport 9092 dnat ip to \(ext.nodeV4):443
        \t\tiifname "\(ext.iface)" meta nfproto ipv6 tcp dport { 9090, 9091 } dnat ip6 to [\(web.v6)]:80
        \t}
        }

        """

    struct Check {
        var to: String
        var probe: Probe
        var expect: Bool
        /// The flow as the simulator sees it (nil for translated flows: it does not model DNAT).
        var flow: Flow?
        var why: String
    }

    static func checks() -> [Check] {
        let from = (v4: Flow.End.address(IPAddress(ext.v4)!), v6: Flow.End.address(IPAddress(ext.v6)!))
        let webID = Resources.id("web")
        func flow(_ to: Flow.End, _ proto: UInt8, _ port: UInt16, v6: Bool = false) -> Flow {
            Flow(from: v6 ? from.v6 : from.v4, to: to, protocol: proto, port: port, family: v6 ? .v6 : .v4, ingressInterface: ext.iface)
        }
        let node = (v4: Flow.End.address(IPAddress(ext.nodeV4)!), v6: Flow.End.address(IPAddress(ext.nodeV6)!))
        return [
            Check(to: "node", probe: .tcp(ext.nodeV4, 5432), expect: true, flow: flow(node.v4, 6, 5432),
                  why: "doNotTrack Allow (raw) where no normal policy allows"),
            Check(to: "node", probe: .tcp(ext.nodeV6, 5432), expect: true, flow: flow(node.v6, 6, 5432, v6: true),
                  why: "doNotTrack Allow (raw), IPv6"),
            Check(to: "node", probe: .udp(ext.nodeV4, 8080), expect: false, flow: flow(node.v4, 17, 8080),
                  why: "doNotTrack Deny (raw) beats the normal Allow"),
            Check(to: "node", probe: .tcp(ext.nodeV4, 8080), expect: true, flow: flow(node.v4, 6, 8080),
                  why: "normal Allow, the stages before passing"),
            Check(to: "node", probe: .tcp(ext.nodeV6, 8080), expect: true, flow: flow(node.v6, 6, 8080, v6: true),
                  why: "normal Allow, IPv6"),
            Check(to: "node", probe: .tcp(ext.nodeV4, 443), expect: false, flow: flow(node.v4, 6, 443),
                  why: "end of the normal tier"),
            Check(to: "web", probe: .tcp(web.v4, 8080), expect: true, flow: flow(.endpoint(webID), 6, 8080),
                  why: "forwarded, applyOnForward Allow"),
            Check(to: "web", probe: .tcp(web.v4, 80), expect: false, flow: flow(.endpoint(webID), 6, 80),
                  why: "forwarded, applyOnForward end of tier (the preDNAT policy does not match port 80)"),
            Check(to: "web", probe: .tcp(web.v6, 80), expect: false, flow: flow(.endpoint(webID), 6, 80, v6: true),
                  why: "forwarded, applyOnForward end of tier, IPv6"),
            Check(to: "web", probe: .tcp(ext.nodeV4, 9090), expect: true, flow: nil,
                  why: "preDNAT Allow of port 9090 (DNAT to web:80, which the applyOnForward policy would deny)"),
            Check(to: "web", probe: .tcp(ext.nodeV6, 9090), expect: true, flow: nil,
                  why: "preDNAT Allow of port 9090, IPv6"),
            Check(to: "web", probe: .tcp(ext.nodeV4, 9091), expect: false, flow: nil,
                  why: "preDNAT Deny of port 9091 (DNAT to web:80)"),
            Check(to: "web", probe: .tcp(ext.nodeV6, 9091), expect: false, flow: nil,
                  why: "preDNAT Deny of port 9091, IPv6"),
            Check(to: "node", probe: .tcp(ext.nodeV4, 9092), expect: true, flow: nil,
                  why: "preDNAT Allow of port 9092 (DNAT to the node's 443, which the normal policy denies)"),
        ]
    }

    @Test func iptablesAndIPSet() async throws { try await run(.iptables) }

    @Test func nftables() async throws { try await run(.nftables) }

    func run(_ backend: Backend) async throws {
        try await NetnsNode.withNode(test: backend == .iptables ? "hep-ipt" : "hep-nft") { node in
            let web = try node.addWorkload("web", interface: Self.web.iface, ipv4: Self.web.v4, ipv6: Self.web.v6)
            let ext = try node.addExternal("ext", interface: Self.ext.iface, nodeIPv4: Self.ext.nodeV4, nodeIPv6: Self.ext.nodeV6,
                                           ipv4: Self.ext.v4, ipv6: Self.ext.v6)
            let host = node.host(ipv4: Self.ext.nodeV4, ipv6: Self.ext.nodeV6)
            try node.listen(in: host, ports: [443, 5432, 8080])
            try node.listen(in: web, ports: [80, 8080])
            try node.exec(["nft", "-f", "-"], input: Self.natScript)

            let compiled = try PolicyCompiler.compile(try Self.cluster(), node: "node1")
            // The stages are where Felix puts them.
            for family in [IPAddress.Family.v4, .v6] {
                let rules = compiled.ruleSet(family)
                #expect(rules.problems().isEmpty, "\(rules.problems())")
                #expect(rules.table(.raw)?.chain(named: ChainName.hostEndpoint(Self.ext.iface, .ingress)) != nil)
                #expect(rules.table(.mangle)?.chain(named: ChainName.hostEndpoint(Self.ext.iface, .ingress)) != nil)
                switch backend {
                case .iptables:
                    try node.applyIPSets(IPSetRenderer().restoreInput(rules))
                    try node.applyIptables(IptablesRenderer().restoreInput(rules), ipv6: family == .v6)
                case .nftables:
                    try node.applyNft(NftablesRenderer().script(rules))
                }
            }

            let checks = Self.checks()
            var got = try node.probe(from: ext, checks.map(\.probe))
            // Flows expected through that missed the deadline on a loaded machine: ask again (a
            // denied flow never gets through, so this cannot hide a wrong verdict).
            let late = checks.filter { $0.expect && got[$0.probe] == false }.map(\.probe)
            if !late.isEmpty { for (p, ok) in try node.probe(from: ext, late, timeout: 2) { got[p] = ok } }
            for c in checks {
                let what = "[\(backend)] ext → \(c.to) \(c.probe) (\(c.why))"
                #expect(got[c.probe] == c.expect, "\(what): kernel \(got[c.probe] == true ? "allowed" : "denied")")
                if let flow = c.flow {
                    let simulated = compiled.simulate(flow)
                    #expect(simulated.allowed == c.expect, "\(what): simulator \(simulated.allowed ? "allowed" : "denied") by \(simulated.decidedBy)")
                }
            }

            // Untracked means untracked: the raw table's NOTRACK kept the TCP 5432 flows out of
            // the conntrack table, while the tracked TCP 8080 flows are in it.
            let table = try node.exec(["cat", "/proc/net/nf_conntrack"])
            let entries = table.split(separator: "\n").filter { $0.contains(" tcp ") && $0.contains("src=\(Self.ext.v4) ") }
            #expect(entries.contains { $0.contains("dport=8080 ") }, "[\(backend)] no conntrack entry for the tracked flow: \(entries)")
            #expect(!entries.contains { $0.contains("dport=5432 ") }, "[\(backend)] conntrack entries for the untracked flow: \(entries)")
        }
    }
}

/// The simulator's host endpoint stages for forwarded traffic (no kernel needed): doNotTrack and
/// preDNAT policy of the interface a packet arrives on apply before the applyOnForward policy,
/// and their Allow skips it.
@Suite struct HostEndpointSimulatorTests {
    static func forwarded(_ port: UInt16) -> Flow {
        Flow(from: .address(IPAddress(HostEndpointKernelTests.ext.v4)!), to: .endpoint(Resources.id("web")), protocol: 6, port: port,
             family: .v4, ingressInterface: HostEndpointKernelTests.ext.iface)
    }

    @Test func preDNATAndUntrackedPolicyComeFirstForForwardedTraffic() throws {
        var cluster = try HostEndpointKernelTests.cluster()
        let compiled = try PolicyCompiler.compile(cluster, node: "node1")
        // 9090: preDNAT Allow, though the applyOnForward policy only allows 8080.
        let allowed = compiled.simulate(Self.forwarded(9090))
        #expect(allowed.allowed)
        #expect(allowed.steps.first?.policy == "gnp/hep-prednat" && allowed.steps.first?.stage == "preDNAT", "\(allowed.steps)")
        #expect(!compiled.simulate(Self.forwarded(9091)).allowed)
        #expect(!compiled.simulate(Self.forwarded(80)).allowed)
        #expect(compiled.simulate(Self.forwarded(8080)).allowed)
        // 5432: doNotTrack Allow (raw comes before mangle and FORWARD).
        let untracked = compiled.simulate(Self.forwarded(5432))
        #expect(untracked.allowed && untracked.steps.first?.stage == "doNotTrack", "\(untracked.steps)")
        // Without those policies the applyOnForward policy decides.
        cluster.globalNetworkPolicies.removeAll { $0.metadata.name != "hep-normal" }
        let normal = try PolicyCompiler.compile(cluster, node: "node1")
        #expect(!normal.simulate(Self.forwarded(9090)).allowed)
        #expect(!normal.simulate(Self.forwarded(5432)).allowed)
    }
}
