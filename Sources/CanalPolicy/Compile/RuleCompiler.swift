import CanalModel

/// Renders one resolved rule into chain rules for one family: criteria in Felix's fragment
/// order, ORs (several CIDRs, more than 15 port slots, numeric plus named ports) as mark-bit
/// match blocks.
///
/// Deliberate difference from Felix (felix-rules.md §2): Felix never resets its second scratch
/// bit between the second, third and fourth positive blocks, so once one of them matched the
/// later ones cannot fail and a rule with three or more OR-blocks over-matches. Here every
/// non-first block clears the bit before testing its alternatives, so each block must match.
struct RuleCompiler {
    let family: IPAddress.Family
    let marks: DataplaneConfiguration.Marks
    let logPrefix: String

    /// The kernel name of a logical set.
    private func name(_ id: String) -> String { IPSetName.main(id: id, family: family) }

    /// The rules for `rule` (already restricted to the family), ending in its action.
    func compile(_ rule: ResolvedRule) -> [ChainRule] {
        var positiveBlocks: [[[MatchCriterion]]] = []
        var negativeBlocks: [[MatchCriterion]] = []
        var inline: [MatchCriterion] = []
        var negatedInline: [MatchCriterion] = []
        let proto = rule.proto.map { MatchCriterion.ipProtocol($0) }
        if let proto { inline.append(proto) }

        func ports(_ e: ResolvedEntity, source: Bool) -> [[MatchCriterion]] {
            var alternatives: [[MatchCriterion]] = PortList.chunks(e.ports).map { list in
                [source ? .sourcePorts(list) : .destinationPorts(list)]
            }
            alternatives += e.namedPortSets.map { [source ? .sourceIPPortSet(name($0)) : .destinationIPPortSet(name($0))] }
            return alternatives
        }
        let sides: [(ResolvedEntity, Bool)] = [(rule.source, true), (rule.destination, false)]
        var portAlternatives: [[[MatchCriterion]]] = []
        var netInline: [Bool] = []
        for (e, source) in sides {
            let alternatives = ports(e, source: source)
            portAlternatives.append(alternatives)
            netInline.append(e.nets.count == 1)
        }
        // Positive blocks in Felix's order: source ports, destination ports, source nets, destination nets.
        for alternatives in portAlternatives where alternatives.count > 1 {
            positiveBlocks.append(alternatives.map { alt in (proto.map { [$0] } ?? []) + alt })
        }
        for (e, source) in sides where e.nets.count > 1 {
            positiveBlocks.append(e.nets.map { [source ? .sourceNet($0) : .destinationNet($0)] })
        }
        for (i, (e, source)) in sides.enumerated() {
            if netInline[i] { inline.append(source ? .sourceNet(e.nets[0]) : .destinationNet(e.nets[0])) }
            if let set = e.selectorSet.map(name) { inline.append(source ? .sourceIPSet(set) : .destinationIPSet(set)) }
            if portAlternatives[i].count == 1 { inline += portAlternatives[i][0] }
            // Negations.
            if e.notNets.count == 1 && !netInline[i] {
                negatedInline.append(source ? .sourceNet(e.notNets[0], negated: true) : .destinationNet(e.notNets[0], negated: true))
            } else {
                negativeBlocks += e.notNets.map { [source ? .sourceNet($0) : .destinationNet($0)] }
            }
            if let set = e.notSelectorSet.map(name) {
                negatedInline.append(source ? .sourceIPSet(set, negated: true) : .destinationIPSet(set, negated: true))
            }
            for list in PortList.chunks(e.notPorts) {
                negatedInline.append(source ? .sourcePorts(list, negated: true) : .destinationPorts(list, negated: true))
            }
            for set in e.notNamedPortSets.map(name) {
                negatedInline.append(source ? .sourceIPPortSet(set, negated: true) : .destinationIPPortSet(set, negated: true))
            }
        }
        if let icmp = rule.icmp { inline.append(.icmp(type: icmp.type, code: icmp.code)) }
        if let notProto = rule.notProto { negatedInline.insert(.ipProtocol(notProto, negated: true), at: 0) }
        if let icmp = rule.notICMP { negatedInline.append(.icmp(type: icmp.type, code: icmp.code, negated: true)) }
        // Negated ports need a protocol before them, which the protocol criterion (first) gives.

        var out: [ChainRule] = []
        var final = inline + negatedInline
        if !positiveBlocks.isEmpty || !negativeBlocks.isEmpty {
            let s0 = marks.scratch0, s1 = marks.scratch1
            if positiveBlocks.isEmpty {
                out.append(ChainRule([], .setMark(value: s0, mask: s0 | s1)))
            } else {
                out.append(ChainRule([], .clearMark(s0 | s1)))
            }
            for (k, block) in positiveBlocks.enumerated() {
                if k == 0 {
                    for alt in block { out.append(ChainRule(alt, .setMarkBits(s0))) }
                } else {
                    if k > 1 { out.append(ChainRule([], .clearMark(s1))) }
                    for alt in block { out.append(ChainRule([.markSet(s0)] + alt, .setMarkBits(s1))) }
                    out.append(ChainRule([.markClear(s1)], .clearMark(s0)))
                }
            }
            for alt in negativeBlocks { out.append(ChainRule(alt, .clearMark(s0))) }
            final.append(.markSet(s0))
        }
        switch rule.action {
        case .allow:
            out.append(ChainRule(final, .setMarkBits(marks.accept)))
            out.append(ChainRule([.markSet(marks.accept)], .return))
        case .pass:
            out.append(ChainRule(final, .setMarkBits(marks.pass)))
            out.append(ChainRule([.markSet(marks.pass)], .return))
        case .deny:
            out.append(ChainRule(final, .drop))
        case .log:
            out.append(ChainRule(final, .log(prefix: logPrefix)))
        }
        return out
    }

    /// A policy or profile chain: every rule in order, the first carrying `comment`, trailing
    /// RETURNs stripped.
    func chain(_ name: String, _ rules: [ResolvedRule], comment: String) -> Chain {
        var out: [ChainRule] = []
        for rule in rules {
            guard let r = rule.restricted(to: family) else { continue }
            out += compile(r)
        }
        while let last = out.last, last.action == .return { out.removeLast() }
        if !out.isEmpty { out[0].comments.insert(comment, at: 0) }
        return Chain(name, out)
    }
}
