import CanalModel

/// Stage two of compilation: the resolved node → Felix's chain layout for one family.
struct LayoutBuilder {
    let model: ResolvedNode
    let family: IPAddress.Family

    private var config: DataplaneConfiguration { model.configuration }
    private var marks: DataplaneConfiguration.Marks { model.configuration.marks }
    private var rules: RuleCompiler { RuleCompiler(family: family, marks: marks, logPrefix: config.logPrefix) }

    func build() -> RuleSet {
        var tables = [filterTable()]
        if let raw = rawTable() { tables.append(raw) }
        if let mangle = mangleTable() { tables.append(mangle) }
        // Chains sorted by name: the order is free, and a sorted one can be kept up to date
        // incrementally (``IncrementalPolicyCompiler``).
        let pruned = tables.map { table in
            var t = table.prunedToReachable()
            t.chains.sort { $0.name < $1.name }
            return t
        }
        return RuleSet(family: family, tables: pruned, ipSets: ipSets(referencedBy: pruned))
    }

    // MARK: - IP sets

    private func ipSets(referencedBy tables: [Table]) -> [IPSet] {
        var ids = Set<String>()
        var byName: [String: String] = [:]
        for id in model.ipSets.keys { byName[IPSetName.main(id: id, family: family)] = id }
        for table in tables {
            for chain in table.chains {
                chain.rules.withUnsafeBufferPointer { rules in
                    for r in rules.indices {
                        rules[r].match.withUnsafeBufferPointer { match in
                            for c in match.indices {
                                switch match[c] {
                                case .sourceIPSet(let n, _), .destinationIPSet(let n, _), .sourceIPPortSet(let n, _),
                                     .destinationIPPortSet(let n, _):
                                    ids.insert(n)
                                default: continue
                                }
                            }
                        }
                    }
                }
            }
        }
        return ids.sorted().compactMap { name in
            guard let id = byName[name], let set = model.ipSets[id] else { return nil }
            return IPSet(
                name: name, type: set.isNamedPort ? .hashIPPort : .hashNet, family: family,
                members: set.members.filter { $0.family == family })
        }
    }

    // MARK: - Policy and profile chains

    /// One direction of a policy's chain; nil when the model has no such policy.
    func policyChain(_ id: PolicyChainID, _ d: PolicyDirection) -> Chain? {
        guard let policy = model.policies[id] else { return nil }
        return rules.chain(ChainName.policy(id, d), policy.rules(d), comment: "\(policy.kindName) \(policy.displayName) \(d.rawValue)")
    }

    /// One direction of a profile's chain (empty for an unknown profile).
    func profileChain(_ name: String, _ d: PolicyDirection) -> Chain {
        let profile = model.profiles[name] ?? ResolvedProfile(name: name, ingress: [], egress: [])
        return rules.chain(ChainName.profile(name, d), profile.rules(d), comment: "Profile \(name) \(d.rawValue)")
    }

    /// A workload's `cali-tw-` and `cali-fw-` chains.
    func workloadChains(_ endpoint: ResolvedEndpoint) -> [Chain] {
        PolicyDirection.allCases.map { d in
            endpointChain(ChainName.workloadEndpoint(endpoint.interface, d), endpoint, d, endpoint.tiers[d], kind: .workload)
        }
    }

    private func policyChains(_ ids: Set<PolicyChainID>, directions: [PolicyDirection]) -> [Chain] {
        ids.sorted { $0.description < $1.description }.flatMap { id -> [Chain] in
            guard let policy = model.policies[id] else { return [] }
            return directions.map { d in
                rules.chain(ChainName.policy(id, d), policy.rules(d),
                            comment: "\(policy.kindName) \(policy.displayName) \(d.rawValue)")
            }
        }
    }

    private func profileChains(_ names: Set<String>) -> [Chain] {
        names.sorted().flatMap { name -> [Chain] in
            let profile = model.profiles[name] ?? ResolvedProfile(name: name, ingress: [], egress: [])
            return PolicyDirection.allCases.map { d in
                rules.chain(ChainName.profile(name, d), profile.rules(d), comment: "Profile \(name) \(d.rawValue)")
            }
        }
    }

    // MARK: - Endpoint chains

    private enum EndpointChainKind { case workload, host, hostForward, untracked, preDNAT }

    private func endpointChain(_ name: String, _ endpoint: ResolvedEndpoint, _ direction: PolicyDirection,
                               _ tiers: [ResolvedTier], kind: EndpointChainKind) -> Chain {
        var out: [ChainRule] = []
        out.reserveCapacity(10 + tiers.reduce(0) { $0 + 2 + 2 * $1.policies.count } + 2 * endpoint.profiles.count)
        if kind == .workload || kind == .host || kind == .hostForward {
            out.append(ChainRule([.conntrack([.related, .established])], .accept))
            if !config.disableConntrackInvalidCheck { out.append(ChainRule([.conntrack(.invalid)], .drop)) }
        }
        if kind == .host || kind == .untracked || kind == .preDNAT {
            out.append(ChainRule([], .jump(direction == .ingress ? ChainName.failsafeIn : ChainName.failsafeOut)))
        }
        out.append(ChainRule([], .clearMark(marks.accept | marks.pass)))
        if kind == .workload, direction == .egress {
            if !config.allowVXLANFromWorkloads {
                out.append(ChainRule([.ipProtocol(.number(17)), .destinationPorts(PortList([PortRange(config.vxlanPort)])!)], .drop,
                                     comments: ["Drop VXLAN encapped packets originating in workloads"]))
            }
            if !config.allowIPIPFromWorkloads {
                out.append(ChainRule([.ipProtocol(.number(4))], .drop, comments: ["Drop IPinIP encapped packets originating in workloads"]))
            }
        }
        for tier in tiers {
            out.append(ChainRule([], .clearMark(marks.pass), comments: ["Start of tier \(tier.name)"]))
            for id in tier.policies {
                out.append(ChainRule([.markClear(marks.pass)], .jump(ChainName.policy(id, direction))))
                out.append(ChainRule([.markSet(marks.accept)], .return, comments: ["Return if policy accepted"]))
            }
            if !tier.passAtEnd {
                out.append(ChainRule([.markClear(marks.pass)], .drop,
                                     comments: ["End of tier \(tier.name). Drop if no policies passed packet"]))
            }
        }
        if kind == .workload || kind == .host {
            for profile in endpoint.profiles {
                out.append(ChainRule([], .jump(ChainName.profile(profile, direction))))
                out.append(ChainRule([.markSet(marks.accept)], .return, comments: ["Return if profile accepted"]))
            }
            out.append(ChainRule([], .drop, comments: ["Drop if no profiles matched"]))
        }
        return Chain(name, out)
    }

    // MARK: - Failsafes

    /// Felix's `cali-failsafe-in` (inbound: the configured host ports as destination ports, from
    /// their net if given) or `cali-failsafe-out` (outbound: to their net). In the raw table, before
    /// conntrack, replies of the other direction's failsafe flows are accepted too (by source port).
    func failsafeChain(inbound: Bool, raw: Bool) -> Chain {
        var out: [ChainRule] = []
        func add(_ ports: [FelixConfigurationSpec.ProtoPort], sourcePort: Bool) {
            for entry in ports {
                let proto: IPProtocol = switch entry.protocol.lowercased() {
                case "udp": .udp
                case "sctp": .sctp
                default: .tcp
                }
                var match: [MatchCriterion] = [.ipProtocol(proto)]
                let list = PortList([PortRange(entry.port)])!
                match.append(sourcePort ? .sourcePorts(list) : .destinationPorts(list))
                if !entry.net.isEmpty {
                    guard let net = CIDR(ipOrCIDR: entry.net)?.network, net.family == family else { continue }
                    match.append(inbound ? .sourceNet(net) : .destinationNet(net))
                }
                out.append(ChainRule(match, .accept))
            }
        }
        add(inbound ? config.failsafeInboundHostPorts : config.failsafeOutboundHostPorts, sourcePort: false)
        if raw { add(inbound ? config.failsafeOutboundHostPorts : config.failsafeInboundHostPorts, sourcePort: true) }
        return Chain(inbound ? ChainName.failsafeIn : ChainName.failsafeOut, out)
    }

    // MARK: - Dispatch

    /// Felix's dispatch tree: interfaces sorted, binned by the character after their common
    /// prefix; a bin of one is a direct rule, a larger bin a child chain; every chain ends in
    /// a drop of unknown interfaces.
    private func dispatch(_ root: String, _ targets: [(String, String)], inbound: Bool) -> [Chain] {
        func match(_ i: InterfaceMatch) -> MatchCriterion { inbound ? .inInterface(i) : .outInterface(i) }
        let drop = ChainRule([], .drop, comments: ["Unknown interface"])
        let sorted = targets.sorted { $0.0 < $1.0 }
        guard sorted.count > 1 else {
            return [Chain(root, sorted.map { ChainRule([match(.exact($0.0))], .goto($0.1)) } + [drop])]
        }
        let names = sorted.map { Array($0.0.utf8) }
        var common = names[0].count
        for n in names { common = min(common, zip(names[0], n).prefix { $0 == $1 }.count) }
        let prefix = String(decoding: names[0].prefix(common), as: UTF8.self)
        var bins: [(String, [(String, String)])] = []
        for (name, target) in sorted {
            let key = name.utf8.count > common ? String(decoding: [Array(name.utf8)[common]], as: UTF8.self) : ""
            if let last = bins.last, last.0 == key, !key.isEmpty {
                bins[bins.count - 1].1.append((name, target))
            } else {
                bins.append((key, [(name, target)]))
            }
        }
        var rootRules: [ChainRule] = []
        var children: [Chain] = []
        for (key, members) in bins {
            if members.count == 1 {
                rootRules.append(ChainRule([match(.exact(members[0].0))], .goto(members[0].1)))
            } else {
                let child = ChainName.lengthLimited(prefix: root + "-", suffix: key)
                rootRules.append(ChainRule([match(.prefix(prefix + key))], .goto(child)))
                children.append(Chain(child, members.map { ChainRule([match(.exact($0.0))], .goto($0.1)) } + [drop]))
            }
        }
        return [Chain(root, rootRules + [drop])] + children
    }

    // MARK: - Filter

    private func filterTable() -> Table {
        let all = marks.all
        // Positions, not copies: an endpoint holds many arrays.
        let endpoints = model.endpoints
        let workloads = endpoints.indices.filter { !endpoints[$0].isHost }
        let hosts = endpoints.indices.filter { endpoints[$0].isHost }
        var chains: [Chain] = []
        var forward: [ChainRule] = [
            ChainRule([], .clearMark(all & ~marks.accept)),
            ChainRule([.markClear(marks.accept)], .jump(ChainName.fromHostEndpointForward)),
        ]
        for p in config.interfacePrefixes { forward.append(ChainRule([.inInterface(.prefix(p))], .jump(ChainName.fromWorkloadDispatch))) }
        for p in config.interfacePrefixes { forward.append(ChainRule([.outInterface(.prefix(p))], .jump(ChainName.toWorkloadDispatch))) }
        forward += [ChainRule([], .jump(ChainName.toHostEndpointForward)), ChainRule([], .jump(ChainName.cidrBlock))]
        chains.append(Chain(ChainName.forward, forward))

        var input: [ChainRule] = config.interfacePrefixes.map { ChainRule([.inInterface(.prefix($0))], .goto(ChainName.workloadToHost)) }
        input += [
            ChainRule([.markSet(marks.accept)], .accept),
            ChainRule([], .clearMark(all)),
            ChainRule([], .jump(ChainName.fromHostEndpoint)),
            ChainRule([.markSet(marks.accept)], .accept, comments: ["Host endpoint policy accepted packet."]),
        ]
        chains.append(Chain(ChainName.input, input))

        var output: [ChainRule] = [ChainRule([.markSet(marks.accept)], .accept)]
        output += config.interfacePrefixes.map { ChainRule([.outInterface(.prefix($0))], .return) }
        output += [
            ChainRule([], .clearMark(all)),
            ChainRule([.conntrack(.dnat, negated: true)], .jump(ChainName.toHostEndpoint)),
            ChainRule([.markSet(marks.accept)], .accept, comments: ["Host endpoint policy accepted packet."]),
        ]
        chains.append(Chain(ChainName.output, output))

        var toHost: [ChainRule] = []
        if family == .v6 {
            for type: UInt8 in [130, 131, 132, 133, 135, 136] {
                toHost.append(ChainRule([.ipProtocol(.icmpv6), .icmp(type: type)], .accept))
            }
        }
        toHost.append(ChainRule([], .jump(ChainName.fromWorkloadDispatch)))
        let action: RuleAction = switch config.endpointToHostAction {
        case .drop: .drop
        case .accept: .accept
        case .return: .return
        }
        toHost.append(ChainRule([], action, comments: ["Configured DefaultEndpointToHostAction"]))
        chains.append(Chain(ChainName.workloadToHost, toHost))

        var egressNames: [String] = [], ingressNames: [String] = []
        egressNames.reserveCapacity(workloads.count)
        ingressNames.reserveCapacity(workloads.count)
        for i in workloads {
            egressNames.append(ChainName.workloadEndpoint(endpoints[i].interface, .egress))
            ingressNames.append(ChainName.workloadEndpoint(endpoints[i].interface, .ingress))
        }
        chains += dispatch(ChainName.fromWorkloadDispatch,
                           zip(workloads, egressNames).map { (endpoints[$0].interface, $1) }, inbound: true)
        chains += dispatch(ChainName.toWorkloadDispatch,
                           zip(workloads, ingressNames).map { (endpoints[$0].interface, $1) }, inbound: false)

        var policyIDs = Set<PolicyChainID>()
        var profiles = Set<String>()
        chains.reserveCapacity(chains.count + 2 * workloads.count)
        for (n, i) in workloads.enumerated() {
            for d in PolicyDirection.allCases {
                let tiers = d == .ingress ? endpoints[i].tiers.ingress : endpoints[i].tiers.egress
                chains.append(endpointChain(d == .ingress ? ingressNames[n] : egressNames[n], endpoints[i], d, tiers, kind: .workload))
                for tier in tiers { policyIDs.formUnion(tier.policies) }
            }
            profiles.formUnion(endpoints[i].profiles)
        }
        // Host endpoints: INPUT/OUTPUT chains, and forward chains for applyOnForward policy.
        var fromHost: [ChainRule] = [], toHostEP: [ChainRule] = [], fromFwd: [ChainRule] = [], toFwd: [ChainRule] = []
        for endpoint in hosts.map({ endpoints[$0] }) {
            let iface = endpoint.interface
            let fh = ChainName.hostEndpoint(iface, .ingress), th = ChainName.hostEndpoint(iface, .egress)
            let fhfw = ChainName.hostEndpoint(iface, .ingress, forward: true), thfw = ChainName.hostEndpoint(iface, .egress, forward: true)
            chains.append(endpointChain(fh, endpoint, .ingress, endpoint.tiers.ingress, kind: .host))
            chains.append(endpointChain(th, endpoint, .egress, endpoint.tiers.egress, kind: .host))
            chains.append(endpointChain(fhfw, endpoint, .ingress, endpoint.forwardTiers.ingress, kind: .hostForward))
            chains.append(endpointChain(thfw, endpoint, .egress, endpoint.forwardTiers.egress, kind: .hostForward))
            fromHost.append(ChainRule([.inInterface(.exact(iface))], .goto(fh)))
            toHostEP.append(ChainRule([.outInterface(.exact(iface))], .goto(th)))
            fromFwd.append(ChainRule([.inInterface(.exact(iface))], .goto(fhfw)))
            toFwd.append(ChainRule([.outInterface(.exact(iface))], .goto(thfw)))
            for lists in [endpoint.tiers, endpoint.forwardTiers] {
                for d in PolicyDirection.allCases { for tier in lists[d] { policyIDs.formUnion(tier.policies) } }
            }
            profiles.formUnion(endpoint.profiles)
        }
        chains += [Chain(ChainName.fromHostEndpoint, fromHost), Chain(ChainName.toHostEndpoint, toHostEP),
                   Chain(ChainName.fromHostEndpointForward, fromFwd), Chain(ChainName.toHostEndpointForward, toFwd),
                   Chain(ChainName.cidrBlock), failsafeChain(inbound: true, raw: false), failsafeChain(inbound: false, raw: false)]
        chains += policyChains(policyIDs, directions: PolicyDirection.allCases)
        chains += profileChains(profiles)
        return Table(.filter, chains: chains, hooks: [
            KernelChainHooks(chain: "INPUT", inserted: [ChainRule([], .jump(ChainName.input))]),
            KernelChainHooks(chain: "FORWARD", inserted: [ChainRule([], .jump(ChainName.forward))], appended: [
                ChainRule([.markSet(marks.accept)], .accept, comments: ["Policy explicitly accepted packet."]),
                ChainRule([], .setMarkBits(marks.accept)),
            ]),
            KernelChainHooks(chain: "OUTPUT", inserted: [ChainRule([], .jump(ChainName.output))]),
        ])
    }

    // MARK: - Raw (doNotTrack) and mangle (preDNAT)

    private func rawTable() -> Table? {
        let hosts = model.endpoints.filter { $0.isHost && !($0.untrackedTiers.ingress.isEmpty && $0.untrackedTiers.egress.isEmpty) }
        guard !hosts.isEmpty else { return nil }
        var chains: [Chain] = []
        var from: [ChainRule] = [], to: [ChainRule] = []
        var ids = Set<PolicyChainID>()
        for endpoint in hosts {
            let fh = ChainName.hostEndpoint(endpoint.interface, .ingress), th = ChainName.hostEndpoint(endpoint.interface, .egress)
            chains.append(endpointChain(fh, endpoint, .ingress, endpoint.untrackedTiers.ingress, kind: .untracked))
            chains.append(endpointChain(th, endpoint, .egress, endpoint.untrackedTiers.egress, kind: .untracked))
            from.append(ChainRule([.inInterface(.exact(endpoint.interface))], .goto(fh)))
            to.append(ChainRule([.outInterface(.exact(endpoint.interface))], .goto(th)))
            for d in PolicyDirection.allCases { for tier in endpoint.untrackedTiers[d] { ids.formUnion(tier.policies) } }
        }
        func top(_ name: String, _ dispatch: String) -> Chain {
            Chain(name, [
                ChainRule([], .clearMark(marks.all)),
                ChainRule([], .jump(dispatch)),
                ChainRule([.markSet(marks.accept)], .notrack),
                ChainRule([.markSet(marks.accept)], .accept),
            ])
        }
        chains += [top("cali-PREROUTING", ChainName.fromHostEndpoint), top("cali-OUTPUT", ChainName.toHostEndpoint),
                   Chain(ChainName.fromHostEndpoint, from), Chain(ChainName.toHostEndpoint, to),
                   failsafeChain(inbound: true, raw: true), failsafeChain(inbound: false, raw: true)]
        chains += policyChains(ids, directions: PolicyDirection.allCases)
        return Table(.raw, chains: chains, hooks: [
            KernelChainHooks(chain: "PREROUTING", inserted: [ChainRule([], .jump("cali-PREROUTING"))]),
            KernelChainHooks(chain: "OUTPUT", inserted: [ChainRule([], .jump("cali-OUTPUT"))]),
        ])
    }

    private func mangleTable() -> Table? {
        let hosts = model.endpoints.filter { $0.isHost && !$0.preDNATTiers.ingress.isEmpty }
        guard !hosts.isEmpty else { return nil }
        var chains: [Chain] = []
        var from: [ChainRule] = []
        var ids = Set<PolicyChainID>()
        for endpoint in hosts {
            let fh = ChainName.hostEndpoint(endpoint.interface, .ingress)
            chains.append(endpointChain(fh, endpoint, .ingress, endpoint.preDNATTiers.ingress, kind: .preDNAT))
            from.append(ChainRule([.inInterface(.exact(endpoint.interface))], .goto(fh)))
            for tier in endpoint.preDNATTiers.ingress { ids.formUnion(tier.policies) }
        }
        chains.append(Chain("cali-PREROUTING", [
            ChainRule([.conntrack([.related, .established])], .accept),
            ChainRule([.markSet(marks.accept)], .accept),
            ChainRule([], .jump(ChainName.fromHostEndpoint)),
            ChainRule([.markSet(marks.accept)], .accept, comments: ["Host endpoint policy accepted packet."]),
        ]))
        chains.append(Chain(ChainName.fromHostEndpoint, from))
        chains.append(failsafeChain(inbound: true, raw: false))
        chains += policyChains(ids, directions: [.ingress])
        return Table(.mangle, chains: chains, hooks: [
            KernelChainHooks(chain: "PREROUTING", inserted: [ChainRule([], .jump("cali-PREROUTING"))]),
        ])
    }
}
