import CanalModel
import CanalPolicy

/// Hand-built Felix filter layout for tests (what the compiler will produce next session):
/// static chains, direct dispatch rules, endpoint chains with tier blocks and profiles.
enum Marks {
    static let accept: UInt32 = 0x10000
    static let pass: UInt32 = 0x20000
    static let scratch0: UInt32 = 0x80000
    static let scratch1: UInt32 = 0x100000
}

struct TierBlock {
    var name: String
    var policyChains: [String]
}

struct EndpointSpec {
    var interface: String
    var ingressTiers: [TierBlock] = []
    var egressTiers: [TierBlock] = []
    var profiles: [String] = ["kns.default"]
}

enum FelixLayout {
    static func filterTable(endpoints: [EndpointSpec], policyChains: [Chain], profileChains: [Chain]) -> Table {
        let m = Marks.self
        // cali-FORWARD: clear all bits but accept (0x1a0000 with the default marks).
        var chains: [Chain] = [Chain(ChainName.forward, [
            ChainRule([], .clearMark(m.pass | m.scratch0 | m.scratch1)),
            ChainRule([.markClear(m.accept)], .jump(ChainName.fromHostEndpointForward)),
            ChainRule([.inInterface(.prefix("cali"))], .jump(ChainName.fromWorkloadDispatch)),
            ChainRule([.outInterface(.prefix("cali"))], .jump(ChainName.toWorkloadDispatch)),
            ChainRule([], .jump(ChainName.toHostEndpointForward)),
            ChainRule([], .jump(ChainName.cidrBlock)),
        ])]
        let allBits = m.accept | m.pass | m.scratch0 | m.scratch1
        chains.append(Chain(ChainName.input, [
            ChainRule([.inInterface(.prefix("cali"))], .goto(ChainName.workloadToHost)),
            ChainRule([.markSet(m.accept)], .accept),
            ChainRule([], .clearMark(allBits)),
            ChainRule([], .jump(ChainName.fromHostEndpoint)),
            ChainRule([.markSet(m.accept)], .accept, comments: ["Host endpoint policy accepted packet."]),
        ]))
        chains.append(Chain(ChainName.output, [
            ChainRule([.markSet(m.accept)], .accept),
            ChainRule([.outInterface(.prefix("cali"))], .return),
            ChainRule([], .clearMark(allBits)),
            ChainRule([.conntrack(.dnat, negated: true)], .jump(ChainName.toHostEndpoint)),
            ChainRule([.markSet(m.accept)], .accept, comments: ["Host endpoint policy accepted packet."]),
        ]))
        chains.append(Chain(ChainName.workloadToHost, [
            ChainRule([], .jump(ChainName.fromWorkloadDispatch)),
            ChainRule([], .drop, comments: ["Configured DefaultEndpointToHostAction"]),
        ]))
        let sorted = endpoints.sorted { $0.interface < $1.interface }
        chains.append(Chain(ChainName.fromWorkloadDispatch, sorted.map {
            ChainRule([.inInterface(.exact($0.interface))], .goto(ChainName.workloadEndpoint($0.interface, .egress)))
        } + [ChainRule([], .drop, comments: ["Unknown interface"])]))
        chains.append(Chain(ChainName.toWorkloadDispatch, sorted.map {
            ChainRule([.outInterface(.exact($0.interface))], .goto(ChainName.workloadEndpoint($0.interface, .ingress)))
        } + [ChainRule([], .drop, comments: ["Unknown interface"])]))
        for endpoint in endpoints {
            chains.append(endpointChain(endpoint, .egress))
            chains.append(endpointChain(endpoint, .ingress))
        }
        chains += policyChains
        chains += profileChains
        chains += [ChainName.fromHostEndpoint, ChainName.toHostEndpoint, ChainName.fromHostEndpointForward,
                   ChainName.toHostEndpointForward, ChainName.cidrBlock].map { Chain($0) }
        return Table(.filter, chains: chains, hooks: [
            KernelChainHooks(chain: "INPUT", inserted: [ChainRule([], .jump(ChainName.input))]),
            KernelChainHooks(chain: "FORWARD", inserted: [ChainRule([], .jump(ChainName.forward))], appended: [
                ChainRule([.markSet(m.accept)], .accept, comments: ["Policy explicitly accepted packet."]),
                ChainRule([], .setMarkBits(m.accept)),
            ]),
            KernelChainHooks(chain: "OUTPUT", inserted: [ChainRule([], .jump(ChainName.output))]),
        ])
    }

    static func endpointChain(_ endpoint: EndpointSpec, _ direction: PolicyDirection) -> Chain {
        let m = Marks.self
        var rules: [ChainRule] = [
            ChainRule([.conntrack([.related, .established])], .accept),
            ChainRule([.conntrack(.invalid)], .drop),
            ChainRule([], .clearMark(m.accept | m.pass)),
        ]
        if direction == .egress {
            rules.append(ChainRule([.ipProtocol(.number(17)), .destinationPorts(PortList([PortRange(4789)])!)], .drop,
                              comments: ["Drop VXLAN encapped packets originating in workloads"]))
            rules.append(ChainRule([.ipProtocol(.number(4))], .drop, comments: ["Drop IPinIP encapped packets originating in workloads"]))
        }
        for tier in direction == .ingress ? endpoint.ingressTiers : endpoint.egressTiers {
            rules.append(ChainRule([], .clearMark(m.pass), comments: ["Start of tier \(tier.name)"]))
            for policy in tier.policyChains {
                rules.append(ChainRule([.markClear(m.pass)], .jump(policy)))
                rules.append(ChainRule([.markSet(m.accept)], .return, comments: ["Return if policy accepted"]))
            }
            rules.append(ChainRule([.markClear(m.pass)], .drop,
                              comments: ["End of tier \(tier.name). Drop if no policies passed packet"]))
        }
        for profile in endpoint.profiles {
            rules.append(ChainRule([], .jump(ChainName.profile(profile, direction))))
            rules.append(ChainRule([.markSet(m.accept)], .return, comments: ["Return if profile accepted"]))
        }
        rules.append(ChainRule([], .drop, comments: ["Drop if no profiles matched"]))
        return Chain(ChainName.workloadEndpoint(endpoint.interface, direction), rules)
    }

    static func allowAllProfile(_ name: String) -> [Chain] {
        [
            Chain(ChainName.profile(name, .ingress), [ChainRule([], .setMarkBits(Marks.accept), comments: ["Profile \(name) ingress"])]),
            Chain(ChainName.profile(name, .egress), [ChainRule([], .setMarkBits(Marks.accept), comments: ["Profile \(name) egress"])]),
        ]
    }
}

/// The reference's worked example (felix-rules.md §8), with its addresses as parameters.
enum WorkedExample {
    static let webInterface = "cali1a2b3c4d5e6"
    static let dbInterface = "cali7f8e9d0c1b2"
    static let webSet = IPSetName.main(id: IPSetName.selectorID(canonicalSelector: "app == \"web\""), family: .v4)
    static let policyID = PolicyChainID(kind: .globalNetworkPolicy, name: "allow-web-to-db")

    static func policyChain() -> Chain {
        Chain(ChainName.policy(policyID, .ingress), [
            ChainRule([.ipProtocol(.tcp), .sourceIPSet(webSet), .destinationPorts(PortList([PortRange(5432)])!)],
                 .setMarkBits(Marks.accept), comments: ["GlobalNetworkPolicy allow-web-to-db ingress"]),
        ])
    }

    static func ruleSet(web: String = "10.65.0.2") -> RuleSet {
        let table = FelixLayout.filterTable(
            endpoints: [
                EndpointSpec(interface: webInterface),
                EndpointSpec(interface: dbInterface, ingressTiers: [TierBlock(name: "default", policyChains: [ChainName.policy(policyID, .ingress)])]),
            ],
            policyChains: [policyChain()],
            profileChains: FelixLayout.allowAllProfile("kns.default"))
        return RuleSet(family: .v4, tables: [table], ipSets: [
            IPSet(name: webSet, type: .hashNet, family: .v4, members: [.net(CIDR(ipOrCIDR: web)!)]),
        ])
    }
}
