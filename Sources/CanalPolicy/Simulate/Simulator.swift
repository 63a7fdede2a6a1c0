public import CanalModel

/// A packet's flow: its two ends, protocol, ports or ICMP type and code.
public struct Flow: Sendable, Hashable {
    /// One end of a flow: an endpoint of the cluster or a plain address.
    public enum End: Sendable, Hashable {
        case endpoint(EndpointID)
        case address(IPAddress)
    }

    /// Where the packet comes from.
    public var from: End
    /// Where it goes.
    public var to: End
    /// The IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, …).
    public var `protocol`: UInt8
    /// The destination port (TCP, UDP, SCTP).
    public var port: UInt16?
    /// The source port; when nil, rules on source ports are taken not to match it.
    public var sourcePort: UInt16?
    /// The ICMP type.
    public var icmpType: UInt8?
    /// The ICMP code.
    public var icmpCode: UInt8?
    /// The family; by default the family of an address end, else IPv4.
    public var family: IPAddress.Family
    /// The node interface a packet from outside the node arrives on. When it is a host
    /// endpoint's and the packet is forwarded, the endpoint's applyOnForward policy applies
    /// (`cali-fhfw-`).
    public var ingressInterface: String?

    /// A flow.
    public init(
        from: End, to: End, protocol: UInt8, port: UInt16? = nil, sourcePort: UInt16? = nil,
        icmpType: UInt8? = nil, icmpCode: UInt8? = nil, family: IPAddress.Family? = nil
    ) {
        self.from = from
        self.to = to
        self.protocol = `protocol`
        self.port = port
        self.sourcePort = sourcePort
        self.icmpType = icmpType
        self.icmpCode = icmpCode
        var inferred: IPAddress.Family = .v4
        for end in [from, to] { if case .address(let ip) = end { inferred = ip.family } }
        self.family = family ?? inferred
    }

    /// A flow arriving from outside the node on `ingressInterface`.
    public init(
        from: End, to: End, protocol: UInt8, port: UInt16? = nil, sourcePort: UInt16? = nil,
        icmpType: UInt8? = nil, icmpCode: UInt8? = nil, family: IPAddress.Family? = nil, ingressInterface: String?
    ) {
        self.init(from: from, to: to, protocol: `protocol`, port: port, sourcePort: sourcePort, icmpType: icmpType,
                  icmpCode: icmpCode, family: family)
        self.ingressInterface = ingressInterface
    }
}

/// What decided a step of a flow's evaluation.
public struct Decision: Sendable, Hashable {
    /// The kind of decision.
    public enum Reason: String, Sendable, Hashable {
        /// A policy rule's Allow or Deny.
        case policyRule
        /// A profile rule's Allow or Deny.
        case profileRule
        /// No policy of a tier that applied allowed or passed the packet: the end-of-tier drop.
        case endOfTier
        /// No tier decided and no profile allowed: the endpoint chain's final drop.
        case noProfileAllowed
        /// Workloads may not send VXLAN or IP-in-IP packets.
        case encapsulationFromWorkload
        /// Workload → host traffic after egress policy: the configured action.
        case endpointToHostAction
        /// No policy applies to this hop (host → workload, traffic not touching a local
        /// endpoint, or forward/untracked/pre-DNAT tiers that all passed).
        case notPoliced
        /// An end named an endpoint without an address of the flow's family.
        case unknownEndpoint
        /// A failsafe host port (`cali-failsafe-in`/`-out`) let the packet through whatever the
        /// host endpoint's policy.
        case failsafe
    }

    /// Why.
    public var reason: Reason
    /// Whether this step let the packet through.
    public var allowed: Bool
    /// The endpoint whose chain decided.
    public var endpoint: EndpointID?
    /// The direction, from the endpoint's point of view.
    public var direction: PolicyDirection?
    /// The tier (policy rules and end of tier).
    public var tier: String?
    /// The policy (`gnp/name`, `np/namespace/name`).
    public var policy: String?
    /// The profile.
    public var profile: String?
    /// The rule's index in its policy or profile direction.
    public var ruleIndex: Int?
    /// Which policy stage: `normal`, `doNotTrack`, `preDNAT` or `applyOnForward`.
    public var stage: String?

    /// A decision.
    public init(reason: Reason, allowed: Bool, endpoint: EndpointID? = nil, direction: PolicyDirection? = nil,
                tier: String? = nil, policy: String? = nil, profile: String? = nil, ruleIndex: Int? = nil, stage: String? = nil) {
        self.reason = reason
        self.allowed = allowed
        self.endpoint = endpoint
        self.direction = direction
        self.tier = tier
        self.policy = policy
        self.profile = profile
        self.ruleIndex = ruleIndex
        self.stage = stage
    }
}

/// A flow's verdict: allowed or not, the decision that settled it and every hop's decision.
public struct Verdict: Sendable, Hashable {
    /// Whether the packet gets through.
    public var allowed: Bool
    /// The deciding step: the first denial, or the last step when allowed.
    public var decidedBy: Decision
    /// Every step in order (e.g. the source's egress, then the destination's ingress).
    public var steps: [Decision]
}

extension CompiledPolicy {
    /// The verdict for the first packet of `flow` on this node, computed from the resolved
    /// model (tiers, policies, rules and IP set members), not from the rendered rules.
    ///
    /// Paths follow Felix's chains: workload → workload runs the source's egress then the
    /// destination's ingress; workload → host runs egress then the endpoint-to-host action;
    /// workload → elsewhere runs egress only; elsewhere → workload runs ingress only; host →
    /// workload is not policed; elsewhere → host endpoint runs doNotTrack, preDNAT, then normal
    /// ingress policy; forwarded in through a host endpoint runs its doNotTrack and preDNAT
    /// policy, then (unless one of them allowed) its applyOnForward policy, then the destination's;
    /// host endpoint → elsewhere runs doNotTrack then normal egress policy. DNAT is not modelled
    /// (every stage sees the flow's destination).
    public func simulate(_ flow: Flow) -> Verdict {
        Simulator(model: model, flow: flow).run()
    }
}

struct Simulator {
    let model: ResolvedNode
    let flow: Flow

    private func local(_ end: Flow.End) -> ResolvedEndpoint? {
        switch end {
        case .endpoint(let id): return model.endpoints.first { $0.id == id }
        case .address(let ip): return model.endpoints.first { $0.addresses.contains(ip) }
        }
    }

    private func address(_ end: Flow.End) -> IPAddress? {
        switch end {
        case .endpoint(let id): return model.addresses[id]?.first { $0.family == flow.family }
        case .address(let ip): return ip
        }
    }

    func run() -> Verdict {
        guard let src = address(flow.from), let dst = address(flow.to) else {
            let d = Decision(reason: .unknownEndpoint, allowed: false)
            return Verdict(allowed: false, decidedBy: d, steps: [d])
        }
        let ctx = Packet(src: src, dst: dst, flow: flow)
        let source = local(flow.from), destination = local(flow.to)
        var steps: [Decision] = []
        func finish() -> Verdict {
            let decisive = steps.first { !$0.allowed } ?? steps.last ?? Decision(reason: .notPoliced, allowed: true)
            return Verdict(allowed: decisive.allowed, decidedBy: decisive, steps: steps)
        }
        if let s = source, !s.isHost {
            steps.append(endpointDecision(s, .egress, ctx))
            guard steps.last!.allowed else { return finish() }
            if let d = destination, !d.isHost {
                steps.append(endpointDecision(d, .ingress, ctx))
            } else if destination != nil {
                let action = model.configuration.endpointToHostAction
                steps.append(Decision(reason: .endpointToHostAction, allowed: action != .drop, endpoint: s.id, direction: .egress))
            }
            return finish()
        }
        if let s = source, s.isHost {
            if let d = destination, !d.isHost {
                steps.append(Decision(reason: .notPoliced, allowed: true))
                return finish()
            }
            if !s.untrackedTiers.egress.isEmpty, !failsafe(inbound: false, raw: true, ctx),
               let d = tierDecision(s, .egress, s.untrackedTiers.egress, ctx, stage: "doNotTrack") {
                steps.append(d)
                return finish()
            }
            if failsafe(inbound: false, raw: false, ctx) {
                steps.append(Decision(reason: .failsafe, allowed: true, endpoint: s.id, direction: .egress))
                return finish()
            }
            steps.append(endpointDecision(s, .egress, ctx))
            return finish()
        }
        if destination?.isHost != true, let iface = flow.ingressInterface,
           let hep = model.endpoints.first(where: { $0.isHost && $0.interface == iface }) {
            // Arriving on a host endpoint, forwarded or not: its doNotTrack (raw) then preDNAT
            // (mangle) policy first. An Allow there sets the accept bit, with which cali-FORWARD
            // skips the applyOnForward policy (and mangle skips preDNAT policy).
            var accepted = false
            for (tiers, stage) in [(hep.untrackedTiers.ingress, "doNotTrack"), (hep.preDNATTiers.ingress, "preDNAT")] {
                if tiers.isEmpty || failsafe(inbound: true, raw: stage == "doNotTrack", ctx) { continue }
                if let d = tierDecision(hep, .ingress, tiers, ctx, stage: stage) {
                    steps.append(d)
                    if !d.allowed { return finish() }
                    accepted = true
                    break
                }
            }
            // Then its applyOnForward policy (no failsafes, no profiles; no tier applying means
            // no verdict).
            if !accepted, let d = tierDecision(hep, .ingress, hep.forwardTiers.ingress, ctx, stage: "applyOnForward") {
                steps.append(d)
                if !d.allowed { return finish() }
            }
        }
        if let d = destination {
            if !d.isHost {
                steps.append(endpointDecision(d, .ingress, ctx))
                return finish()
            }
            for (tiers, stage) in [(d.untrackedTiers.ingress, "doNotTrack"), (d.preDNATTiers.ingress, "preDNAT")] {
                // Each stage's chain starts with the failsafes, whose ACCEPT ends that table.
                if tiers.isEmpty || failsafe(inbound: true, raw: stage == "doNotTrack", ctx) { continue }
                if let decision = tierDecision(d, .ingress, tiers, ctx, stage: stage) {
                    steps.append(decision)
                    return finish()
                }
            }
            if failsafe(inbound: true, raw: false, ctx) {
                steps.append(Decision(reason: .failsafe, allowed: true, endpoint: d.id, direction: .ingress))
                return finish()
            }
            steps.append(endpointDecision(d, .ingress, ctx))
            return finish()
        }
        steps.append(Decision(reason: .notPoliced, allowed: true))
        return finish()
    }

    /// Whether a failsafe chain accepts the packet: inbound, the configured inbound ports by
    /// destination port (from their net); outbound, the outbound ports (to their net); in the raw
    /// table also the other list's ports by source port.
    private func failsafe(inbound: Bool, raw: Bool, _ p: Packet) -> Bool {
        let config = model.configuration
        func matches(_ entry: FelixConfigurationSpec.ProtoPort, bySource: Bool) -> Bool {
            let number: UInt8 = switch entry.protocol.lowercased() {
            case "udp": 17
            case "sctp": 132
            default: 6
            }
            guard p.flow.protocol == number, (bySource ? p.flow.sourcePort : p.flow.port) == entry.port else { return false }
            guard !entry.net.isEmpty else { return true }
            guard let net = CIDR(ipOrCIDR: entry.net)?.network, net.family == p.flow.family else { return false }
            return net.contains(inbound ? p.src : p.dst)
        }
        let primary = inbound ? config.failsafeInboundHostPorts : config.failsafeOutboundHostPorts
        let other = inbound ? config.failsafeOutboundHostPorts : config.failsafeInboundHostPorts
        return primary.contains { matches($0, bySource: false) } || (raw && other.contains { matches($0, bySource: true) })
    }

    /// A normal endpoint chain: encapsulation drops (workload egress), tiers, profiles, drop.
    private func endpointDecision(_ e: ResolvedEndpoint, _ direction: PolicyDirection, _ p: Packet) -> Decision {
        let config = model.configuration
        if !e.isHost, direction == .egress {
            if (!config.allowVXLANFromWorkloads && p.flow.protocol == 17 && p.flow.port == config.vxlanPort)
                || (!config.allowIPIPFromWorkloads && p.flow.protocol == 4) {
                return Decision(reason: .encapsulationFromWorkload, allowed: false, endpoint: e.id, direction: direction)
            }
        }
        if let d = tierDecision(e, direction, e.tiers[direction], p, stage: "normal") { return d }
        for name in e.profiles {
            let rules = model.profiles[name]?.rules(direction) ?? []
            for rule in rules {
                guard let r = rule.restricted(to: p.flow.family), p.matches(r, model.ipSets) else { continue }
                switch r.action {
                case .allow:
                    return Decision(reason: .profileRule, allowed: true, endpoint: e.id, direction: direction, profile: name, ruleIndex: r.index)
                case .deny:
                    return Decision(reason: .profileRule, allowed: false, endpoint: e.id, direction: direction, profile: name, ruleIndex: r.index)
                case .log: continue
                case .pass: break
                }
                break
            }
        }
        return Decision(reason: .noProfileAllowed, allowed: false, endpoint: e.id, direction: direction)
    }

    /// The tiers' verdict, or nil when every tier passed (or none applied).
    private func tierDecision(_ e: ResolvedEndpoint, _ direction: PolicyDirection, _ tiers: [ResolvedTier], _ p: Packet, stage: String) -> Decision? {
        tierLoop: for tier in tiers {
            for id in tier.policies {
                guard let policy = model.policies[id] else { continue }
                for rule in policy.rules(direction) {
                    guard let r = rule.restricted(to: p.flow.family), p.matches(r, model.ipSets) else { continue }
                    switch r.action {
                    case .allow, .deny:
                        return Decision(reason: .policyRule, allowed: r.action == .allow, endpoint: e.id, direction: direction,
                                        tier: tier.name, policy: id.description, ruleIndex: r.index, stage: stage)
                    case .pass: continue tierLoop
                    case .log: continue
                    }
                }
            }
            if !tier.passAtEnd {
                return Decision(reason: .endOfTier, allowed: false, endpoint: e.id, direction: direction, tier: tier.name, stage: stage)
            }
        }
        return nil
    }
}

/// A packet's fields as rules see them.
struct Packet {
    let src: IPAddress
    let dst: IPAddress
    let flow: Flow

    func matches(_ r: ResolvedRule, _ sets: [String: LogicalIPSet]) -> Bool {
        if let proto = r.proto, proto.number != flow.protocol { return false }
        if let proto = r.notProto, proto.number == flow.protocol { return false }
        if let icmp = r.icmp, !icmpMatches(icmp) { return false }
        if let icmp = r.notICMP, icmpMatches(icmp) { return false }
        return side(r.source, src, flow.sourcePort, sets) && side(r.destination, dst, flow.port, sets)
    }

    private func icmpMatches(_ m: ICMPMatch) -> Bool {
        guard flow.protocol == 1 || flow.protocol == 58, let type = flow.icmpType, type == m.type else { return false }
        if let code = m.code { return flow.icmpCode == code }
        return true
    }

    private func side(_ e: ResolvedEntity, _ ip: IPAddress, _ port: UInt16?, _ sets: [String: LogicalIPSet]) -> Bool {
        if !e.nets.isEmpty, !e.nets.contains(where: { $0.contains(ip) }) { return false }
        if e.notNets.contains(where: { $0.contains(ip) }) { return false }
        if let id = e.selectorSet, !(sets[id]?.contains(ip) ?? false) { return false }
        if let id = e.notSelectorSet, sets[id]?.contains(ip) ?? false { return false }
        func inNamed(_ ids: [String]) -> Bool {
            guard let port else { return false }
            return ids.contains { sets[$0]?.contains(ip, protocol: flow.protocol, port: port) ?? false }
        }
        if !e.ports.isEmpty || !e.namedPortSets.isEmpty {
            let numeric = port.map { p in e.ports.contains { $0.first <= p && p <= $0.last } } ?? false
            if !numeric && !inNamed(e.namedPortSets) { return false }
        }
        if let port, e.notPorts.contains(where: { $0.first <= port && port <= $0.last }) { return false }
        if inNamed(e.notNamedPortSets) { return false }
        return true
    }
}
