import CanalModel
import CanalPolicy
import CanalTesting
import Foundation
import Testing

/// Real packets through rendered rule sets in network namespaces: the worked example extended
/// with a port range, an ICMP type rule, a pass-to-profile tier, an egress default deny (to
/// show conntrack lets replies through) and an unknown `cali` interface.
@Suite(.serialized, .enabled(if: KernelTestGate.shouldRun, "needs root (runs as root or when CI=true)"))
struct KernelTests {
    enum Backend { case iptables, nftables }

    static let web = (iface: "cali1a2b3c4d5e6", v4: "198.18.0.2", v6: "fd5e:ca1::2")
    static let db = (iface: "cali7f8e9d0c1b2", v4: "198.18.0.3", v6: "fd5e:ca1::3")
    static let other = (iface: "cali3c0ffee0001", v4: "198.18.0.4", v6: "fd5e:ca1::4")
    static let rogue = (iface: "cali9badbadbad9", v4: "198.18.0.9", v6: "fd5e:ca1::9")

    static let dbPolicy = ChainName.policy(PolicyChainID(kind: .globalNetworkPolicy, name: "allow-web-to-db"), .ingress)
    static let dbEgress = ChainName.policy(PolicyChainID(kind: .globalNetworkPolicy, name: "db-egress-deny"), .egress)
    static let passWeb = ChainName.policy(PolicyChainID(kind: .networkPolicy, namespace: "default", name: "pass-web"), .ingress)

    /// The rule set; `icmpType` is the ICMP type the db policy allows from anywhere.
    static func ruleSet(icmpType: UInt8) -> RuleSet {
        let webSet = WorkedExample.webSet
        let accept = Marks.accept
        let policy = Chain(dbPolicy, [
            ChainRule([.ipProtocol(.tcp), .sourceIPSet(webSet), .destinationPorts(PortList([PortRange(5432)])!)],
                 .setMarkBits(accept), comments: ["GlobalNetworkPolicy allow-web-to-db ingress"]),
            ChainRule([.markSet(accept)], .return),
            ChainRule([.ipProtocol(.tcp), .sourceIPSet(webSet), .destinationPorts(PortList([PortRange(6000, 6010)!])!)], .setMarkBits(accept)),
            ChainRule([.markSet(accept)], .return),
            ChainRule([.ipProtocol(.icmp), .icmp(type: icmpType)], .setMarkBits(accept)),
        ])
        let pass = Chain(passWeb, [
            ChainRule([.sourceIPSet(webSet)], .setMarkBits(Marks.pass), comments: ["NetworkPolicy default/pass-web ingress"]),
            ChainRule([.markSet(Marks.pass)], .return),
        ])
        let table = FelixLayout.filterTable(
            endpoints: [
                EndpointSpec(interface: web.iface),
                EndpointSpec(interface: db.iface,
                             ingressTiers: [TierBlock(name: "default", policyChains: [dbPolicy])],
                             egressTiers: [TierBlock(name: "default", policyChains: [dbEgress])]),
                EndpointSpec(interface: other.iface, ingressTiers: [TierBlock(name: "first", policyChains: [passWeb])]),
            ],
            policyChains: [policy, Chain(dbEgress), pass],
            profileChains: FelixLayout.allowAllProfile("kns.default"))
        return RuleSet(family: .v4, tables: [table], ipSets: [
            IPSet(name: webSet, type: .hashNet, family: .v4, members: [.net(CIDR(ipOrCIDR: web.v4)!)]),
        ])
    }

    @Test func iptablesAndIPSet() async throws {
        try await scenario(.iptables)
    }

    @Test func nftables() async throws {
        try await scenario(.nftables)
    }

    func scenario(_ backend: Backend) async throws {
        try await NetnsNode.withNode(test: backend == .iptables ? "pol-ipt" : "pol-nft") { node in
            let w = try node.addWorkload("web", interface: Self.web.iface, ipv4: Self.web.v4, ipv6: Self.web.v6)
            let d = try node.addWorkload("db", interface: Self.db.iface, ipv4: Self.db.v4, ipv6: Self.db.v6)
            let o = try node.addWorkload("other", interface: Self.other.iface, ipv4: Self.other.v4, ipv6: Self.other.v6)
            let r = try node.addWorkload("rogue", interface: Self.rogue.iface, ipv4: Self.rogue.v4, ipv6: Self.rogue.v6)
            try node.listen(in: d, ports: [5432, 80, 6005, 6011])
            for wl in [w, o, r] { try node.listen(in: wl, ports: [80]) }

            // Without rules everything is reachable: denials below are the rules' doing.
            try expectProbes(node, from: r, [
                .tcp(d.ipv4, 80): true, .udp(d.ipv4, 5432): true, .ping(w.ipv4): true, .tcp(w.ipv6, 80): true,
            ])

            let first = Self.ruleSet(icmpType: 8)
            #expect(first.problems().isEmpty)
            let empty = RuleSet(family: .v4)
            switch backend {
            case .iptables:
                let sets = IPSetRenderer().update(RuleSetDiff(from: empty, to: first).ipSets)
                try node.applyIPSets(sets.beforeRules)
                try node.applyIptables(IptablesRenderer().restoreInput(RuleSetDiff(from: empty, to: first)), noflush: true)
            case .nftables:
                try node.applyNft(NftablesRenderer().script(first))
            }

            let expectations: [(Workload, [Probe: Bool])] = [
                (w, [
                    .tcp(d.ipv4, 5432): true,   // ingress allowed by the selector's IP set
                    .tcp(d.ipv4, 80): false,    // end of tier: default deny
                    .tcp(d.ipv4, 6005): true,   // inside the port range
                    .tcp(d.ipv4, 6011): false,  // outside it
                    .udp(d.ipv4, 5432): false,  // wrong protocol
                    .ping(d.ipv4): true,        // ICMP type 8 allowed
                    .tcp(o.ipv4, 80): true,     // pass → profile allows
                ]),
                (o, [.tcp(d.ipv4, 5432): false, .ping(d.ipv4): true, .tcp(w.ipv4, 80): true]),
                // db's egress tier denies new connections; replies above came back through conntrack.
                (d, [.tcp(w.ipv4, 80): false, .ping(w.ipv4): false, .tcp(o.ipv4, 80): false]),
                // rogue's interface is in no dispatch chain: dropped both ways.
                (r, [.tcp(w.ipv4, 80): false, .ping(d.ipv4): false]),
                (w, [.tcp(r.ipv4, 80): false]),
            ]
            for (source, probes) in expectations { try expectProbes(node, from: source, probes) }

            // Incremental update: the ICMP rule now allows only type 13 (timestamp), not echo.
            let second = Self.ruleSet(icmpType: 13)
            let diff = RuleSetDiff(from: first, to: second)
            switch backend {
            case .iptables:
                let input = IptablesRenderer().restoreInput(diff)
                #expect(input.contains("-R \(Self.dbPolicy) 5 "))
                #expect(!input.contains("cali-FORWARD"))
                try node.applyIptables(input, noflush: true)
                try expectKernelHashes(node, second)
            case .nftables:
                let script = NftablesRenderer().script(diff)
                #expect(script.contains("flush chain ip canal filter-\(Self.dbPolicy)"))
                try node.applyNft(script)
            }
            try expectProbes(node, from: w, [.ping(d.ipv4): false, .tcp(d.ipv4, 5432): true, .tcp(d.ipv4, 80): false])
            try expectProbes(node, from: o, [.ping(d.ipv4): false, .tcp(w.ipv4, 80): true])
        }
    }

    func expectProbes(_ node: NetnsNode, from source: Workload, _ expected: [Probe: Bool]) throws {
        let probes = Array(expected.keys)
        var results = try node.probe(from: source, probes)
        // A flow the rules allow can still miss a 1 s deadline on a loaded machine (neighbour
        // discovery, a slow listener): ask again. A flow the rules deny never gets through, so
        // retrying can only hide slowness, never a wrong verdict.
        for _ in 0..<2 {
            let late = probes.filter { expected[$0] == true && results[$0] == false }
            if late.isEmpty { break }
            for (probe, allowed) in try node.probe(from: source, late) { results[probe] = allowed }
        }
        for probe in probes where results[probe] != expected[probe] {
            Issue.record("\(source.namespace) → \(probe): expected \(expected[probe]! ? "allowed" : "denied"), got the opposite")
        }
    }

    /// After an incremental update the kernel holds exactly the hashes of the new rule set.
    func expectKernelHashes(_ node: NetnsNode, _ ruleSet: RuleSet) throws {
        let saved = try node.exec(["iptables-save", "-t", "filter"])
        var kernel: [String: [String]] = [:]
        for line in saved.split(separator: "\n") where line.hasPrefix("-A ") {
            let chain = String(line.split(separator: " ")[1])
            guard let range = line.range(of: "cali:") else { continue }
            kernel[chain, default: []].append(String(line[range.upperBound...].prefix(16)))
        }
        let renderer = IptablesRenderer()
        for chain in ruleSet.table(.filter)!.chains {
            let want = renderer.hashes(chain.name, chain.rules, family: .v4)
            #expect(kernel[chain.name, default: []] == want, "chain \(chain.name)")
        }
    }
}
