import CanalModel
import CanalSelector

/// Renders rule sets as `nft -f` scripts.
///
/// Layout (chosen to keep Felix's chain names and semantics): one table per family, `table ip
/// canal` and `table ip6 canal` (both may go in one script). An `inet` table would mix the two
/// families' chains of the same name, needing an `nfproto` guard on every rule or renamed chains;
/// Felix's nftables mode makes the same choice (`ip calico` / `ip6 calico`). Inside it, chains are
/// namespaced by iptables table, `filter-cali-tw-…`, and each kernel chain with hooks becomes a
/// base chain `filter-FORWARD` at the table's standard priority holding the inserted then the
/// appended rules. IP sets become named sets (`:` → `-` in names). Port lists of more than one
/// port or range and negated ICMP type/code pairs also become named sets
/// (`canal-p-<hash>`, `canal-i-<hash>`, shared by content) rather than per-rule anonymous sets,
/// whose kernel cost grows quadratically with the rule count.
public struct NftablesRenderer: Sendable {
    /// The table name (default `canal`).
    public let tableName: String

    /// A renderer for table `tableName`.
    public init(tableName: String = "canal") { self.tableName = tableName }

    /// A script that atomically replaces the family's table with `ruleSet`'s content.
    public func script(_ ruleSet: RuleSet) -> String {
        let t = tableRef(ruleSet.family)
        var out = "table \(t)\ndelete table \(t)\ntable \(t) {\n"
        for set in ruleSet.ipSets { out += setDefinition(set) }
        for set in derivedSets(ruleSet) { out += derivedDefinition(set) }
        for table in ruleSet.tables {
            for hook in baseChains(table) {
                out += "\tchain \(chainName(table.name, hook.chain)) {\n"
                out += "\t\t\(baseChainHeader(table.name, hook.chain))\n"
                for rule in hook.inserted + hook.appended { out += "\t\t\(render(rule, table.name, ruleSet.family))\n" }
                out += "\t}\n"
            }
            for chain in table.chains {
                out += "\tchain \(chainName(table.name, chain.name)) {\n"
                for rule in chain.rules { out += "\t\t\(render(rule, table.name, ruleSet.family))\n" }
                out += "\t}\n"
            }
        }
        return out + "}\n"
    }

    /// A script (one atomic transaction) taking the table from `diff.old` to `diff.new`: new sets
    /// and chains are added, changed chains (and chains using a redefined set) flushed and refilled,
    /// set members added and deleted, removed chains and sets deleted last. Empty when nothing
    /// changes.
    public func script(_ diff: RuleSetDiff) -> String {
        guard !diff.isEmpty else { return "" }
        let family = diff.new.family
        let t = tableRef(family)
        var out = "table \(t)\n"
        let redefined = Set(diff.ipSets.redefined.map(\.name))
        // Derived sets, looking only at what changed: a set the table gains is used by a new or
        // changed chain and by no old one; a set it loses was used by a removed or changed chain
        // and is used by no new one. (Unchanged chains are the same on both sides.) The whole
        // rule set is only consulted for candidates, with a scan that names few criteria.
        var touchedNew = DerivedSets(), touchedOld = DerivedSets()
        for tableDiff in diff.tables {
            for chain in tableDiff.added { touchedNew.collect(chain.rules, family, self) }
            for chain in tableDiff.removed { touchedOld.collect(chain.rules, family, self) }
            for change in tableDiff.changed {
                touchedNew.collect(change.new, family, self)
                touchedOld.collect(change.old, family, self)
            }
            for hooks in tableDiff.changedHooks {
                touchedNew.collect(hooks.new.inserted + hooks.new.appended, family, self)
                touchedOld.collect(hooks.old.inserted + hooks.old.appended, family, self)
            }
        }
        var gained = touchedNew.sets.filter { !touchedOld.names.contains($0.name) }
        if !gained.isEmpty {
            let everyOld = DerivedSets(diff.old, self)
            gained.removeAll { everyOld.names.contains($0.name) }
        }
        var lost = touchedOld.sets.filter { !touchedNew.names.contains($0.name) }
        if !lost.isEmpty {
            let everyNew = DerivedSets(diff.new, self)
            lost.removeAll { everyNew.names.contains($0.name) }
        }

        // Chains to rewrite whole, per table: changed ones, and those using a redefined set.
        var rewrite: [TableName: [(String, [ChainRule])]] = [:]
        var deleteChains: [(TableName, String)] = []
        var addChains: [(TableName, String)] = []
        for tableDiff in diff.tables {
            let newTable = diff.new.table(tableDiff.name) ?? Table(tableDiff.name)
            var names = Set(tableDiff.changed.map(\.name))
            if !redefined.isEmpty {
                for chain in newTable.chains where chain.rules.contains(where: { uses($0, redefined) }) { names.insert(chain.name) }
            }
            names.subtract(tableDiff.added.map(\.name))
            if redefined.isEmpty {
                // Only the changed chains, in the new table's order.
                rewrite[tableDiff.name] = tableDiff.changed.map { ($0.name, $0.new) }
            } else {
                rewrite[tableDiff.name] = newTable.chains.filter { names.contains($0.name) }.map { ($0.name, $0.rules) }
            }
            let oldBase = Set(baseChains(diff.old.table(tableDiff.name) ?? Table(tableDiff.name)).map(\.chain))
            for hook in tableDiff.changedHooks {
                let base = baseChains(newTable).first { $0.chain == hook.new.chain }
                if let base {
                    if !oldBase.contains(base.chain) { addChains.append((tableDiff.name, base.chain)) }
                    rewrite[tableDiff.name, default: []].append((base.chain, base.inserted + base.appended))
                } else {
                    deleteChains.append((tableDiff.name, hook.old.chain))
                }
            }
            for chain in tableDiff.added { addChains.append((tableDiff.name, chain.name)) }
            for chain in tableDiff.removed { deleteChains.append((tableDiff.name, chain.name)) }
        }
        // Chains using a redefined set in tables that did not otherwise change.
        for table in diff.new.tables where !redefined.isEmpty && !diff.tables.contains(where: { $0.name == table.name }) {
            let using = table.chains.filter { $0.rules.contains(where: { uses($0, redefined) }) }
            if !using.isEmpty { rewrite[table.name] = using.map { ($0.name, $0.rules) } }
        }

        for (table, name) in addChains {
            if let base = TableName.allCases.first(where: { $0 == table }),
               base.kernelChains.contains(where: { $0.name == name }) {
                out += "add chain \(t) \(chainName(table, name)) { \(baseChainHeader(table, name)) }\n"
            } else {
                out += "add chain \(t) \(chainName(table, name))\n"
            }
        }
        for (table, chains) in rewrite.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for (name, _) in chains { out += "flush chain \(t) \(chainName(table, name))\n" }
        }
        for (table, name) in deleteChains { out += "flush chain \(t) \(chainName(table, name))\n" }
        for set in diff.ipSets.redefined { out += "delete set \(t) \(IPSetName.nftables(set.name))\n" }
        for set in diff.ipSets.created + diff.ipSets.redefined { out += "add set \(t) \(inlineSet(set))\n" }
        for set in gained { out += "add set \(t) \(inlineDerived(set))\n" }
        for change in diff.ipSets.memberChanges {
            guard let old = diff.old.ipSets.first(where: { $0.name == change.name }),
                  let new = diff.new.ipSets.first(where: { $0.name == change.name }) else { continue }
            let before = Set(elements(old)), after = elements(new)
            let afterSet = Set(after)
            let removed = elements(old).filter { !afterSet.contains($0) }
            let added = after.filter { !before.contains($0) }
            let name = IPSetName.nftables(change.name)
            if !removed.isEmpty { out += "delete element \(t) \(name) { \(removed.joined(separator: ", ")) }\n" }
            if !added.isEmpty { out += "add element \(t) \(name) { \(added.joined(separator: ", ")) }\n" }
        }
        for tableDiff in diff.tables {
            for chain in tableDiff.added {
                for rule in chain.rules { out += "add rule \(t) \(chainName(tableDiff.name, chain.name)) \(render(rule, tableDiff.name, family))\n" }
            }
        }
        for (table, chains) in rewrite.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for (name, rules) in chains {
                for rule in rules { out += "add rule \(t) \(chainName(table, name)) \(render(rule, table, family))\n" }
            }
        }
        for (table, name) in deleteChains { out += "delete chain \(t) \(chainName(table, name))\n" }
        for set in diff.ipSets.destroyed { out += "delete set \(t) \(IPSetName.nftables(set.name))\n" }
        for set in lost { out += "delete set \(t) \(set.name)\n" }
        return out
    }

    // MARK: - Names and chains

    private func tableRef(_ family: IPAddress.Family) -> String { "\(family == .v4 ? "ip" : "ip6") \(tableName)" }

    private func chainName(_ table: TableName, _ chain: String) -> String { "\(table.rawValue)-\(chain)" }

    private func baseChainHeader(_ table: TableName, _ kernelChain: String) -> String {
        let hook = table.kernelChains.first { $0.name == kernelChain }?.hook ?? kernelChain.lowercased()
        let base = table.nftBaseChain(hook: hook)
        return "type \(base.type) hook \(hook) priority \(base.priority); policy accept;"
    }

    private func baseChains(_ table: Table) -> [KernelChainHooks] {
        table.hooks.filter { !($0.inserted.isEmpty && $0.appended.isEmpty) }
    }

    private func uses(_ rule: ChainRule, _ sets: Set<String>) -> Bool {
        rule.match.contains { $0.ipSetName.map(sets.contains) ?? false }
    }

    // MARK: - Sets

    private func setDefinition(_ set: IPSet) -> String {
        var out = "\tset \(IPSetName.nftables(set.name)) {\n\t\ttype \(setType(set))\n"
        if set.type == .hashNet { out += "\t\tflags interval\n" }
        let elements = elements(set)
        if !elements.isEmpty { out += "\t\telements = { \(elements.joined(separator: ", ")) }\n" }
        return out + "\t}\n"
    }

    private func inlineSet(_ set: IPSet) -> String {
        var body = "type \(setType(set));"
        if set.type == .hashNet { body += " flags interval;" }
        let elements = elements(set)
        if !elements.isEmpty { body += " elements = { \(elements.joined(separator: ", ")) };" }
        return "\(IPSetName.nftables(set.name)) { \(body) }"
    }

    private func setType(_ set: IPSet) -> String {
        let addr = set.family == .v4 ? "ipv4_addr" : "ipv6_addr"
        return set.type == .hashIPPort ? "\(addr) . inet_proto . inet_service" : addr
    }

    /// The set's elements in nft syntax; CIDRs inside another member are left out (interval
    /// sets reject overlaps, and the covering member already matches them).
    private func elements(_ set: IPSet) -> [String] {
        let members = set.sortedMembers
        let nets = members.compactMap { m -> CIDR? in if case .net(let c) = m { c.network } else { nil } }
        return members.compactMap { member in
            switch member {
            case .address(let ip): return ip.description
            case .net(let cidr):
                let net = cidr.network
                let covered = nets.contains { $0 != net && $0.prefixLength <= net.prefixLength && $0.contains(net.address) }
                return covered ? nil : net.description
            case .addressPort(let ip, let proto, let port): return "\(ip) . \(nftProtocol(proto)) . \(port)"
            }
        }
    }

    /// A named set derived from rule content: a port list or a list of ICMP type/code pairs.
    private struct DerivedSet: Hashable {
        var name: String
        var type: String
        var interval: Bool
        var elements: [String]
    }

    private func derivedDefinition(_ set: DerivedSet) -> String {
        "\tset \(set.name) {\n\t\ttype \(set.type)\n" + (set.interval ? "\t\tflags interval\n" : "")
            + "\t\telements = { \(set.elements.joined(separator: ", ")) }\n\t}\n"
    }

    private func inlineDerived(_ set: DerivedSet) -> String {
        "\(set.name) { type \(set.type);\(set.interval ? " flags interval;" : "") elements = { \(set.elements.joined(separator: ", ")) }; }"
    }

    private func derivedSets(_ ruleSet: RuleSet) -> [DerivedSet] { DerivedSets(ruleSet, self).sets }

    /// Derived sets in order of first use, each once.
    private struct DerivedSets {
        var sets: [DerivedSet] = []
        var names = Set<String>()
        /// Sets by the criterion they come from (many rules share a port list).
        private var memo: [MatchCriterion: DerivedSet?] = [:]

        init() {}

        /// Every derived set `ruleSet` uses.
        init(_ ruleSet: RuleSet, _ renderer: NftablesRenderer) {
            for table in ruleSet.tables {
                for chain in table.chains { collect(chain.rules, ruleSet.family, renderer) }
                for hook in table.hooks {
                    collect(hook.inserted, ruleSet.family, renderer)
                    collect(hook.appended, ruleSet.family, renderer)
                }
            }
        }

        mutating func collect(_ rules: [ChainRule], _ family: IPAddress.Family, _ renderer: NftablesRenderer) {
            for rule in rules {
                for criterion in rule.match {
                    switch criterion {
                    case .sourcePorts(let ports, _), .destinationPorts(let ports, _): if ports.ranges.count < 2 { continue }
                    case .icmp(_, _?, true): break
                    default: continue
                    }
                    let set: DerivedSet?
                    if let known = memo[criterion] {
                        set = known
                    } else {
                        set = renderer.derivedSet(criterion, family)
                        memo[criterion] = set
                    }
                    if let set, names.insert(set.name).inserted { sets.append(set) }
                }
            }
        }
    }

    private func derivedSet(_ criterion: MatchCriterion, _ family: IPAddress.Family) -> DerivedSet? {
        switch criterion {
        case .sourcePorts(let ports, _), .destinationPorts(let ports, _):
            guard ports.ranges.count > 1 else { return nil }
            // Interval sets reject overlapping elements: merge overlapping and adjacent ranges.
            var merged: [(UInt32, UInt32)] = []
            for r in ports.ranges.sorted(by: { $0.first < $1.first }) {
                if let last = merged.last, UInt32(r.first) <= last.1 + 1 {
                    merged[merged.count - 1].1 = max(last.1, UInt32(r.last))
                } else {
                    merged.append((UInt32(r.first), UInt32(r.last)))
                }
            }
            let elements = merged.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }
            return DerivedSet(name: "canal-p-" + shortHash(elements.joined(separator: ",")), type: "inet_service",
                              interval: true, elements: elements)
        case .icmp(let type, let code?, true):
            let v6 = family == .v6
            return DerivedSet(
                name: "canal-i-" + shortHash("\(family) \(type)/\(code)"),
                type: v6 ? "icmpv6_type . icmpv6_code" : "icmp_type . icmp_code", interval: false,
                elements: ["\(type) . \(code)"])
        default: return nil
        }
    }

    private func shortHash(_ text: String) -> String { String(Base64URL.encodeNoPadding(SHA2.sha224(text.utf8)).prefix(16)) }

    // MARK: - Rules

    private func render(_ rule: ChainRule, _ table: TableName, _ family: IPAddress.Family) -> String {
        var parts = rule.match.map { render($0, family) }
        parts.append(render(rule.action, table))
        if !rule.comments.isEmpty {
            let text = rule.comments.map(sanitizedComment).joined(separator: "; ")
            parts.append("comment \"\(String(text.utf8.prefix(127))!)\"")
        }
        return parts.joined(separator: " ")
    }

    private func render(_ criterion: MatchCriterion, _ family: IPAddress.Family) -> String {
        let ip = family == .v4 ? "ip" : "ip6"
        func op(_ negated: Bool) -> String { negated ? "!= " : "" }
        switch criterion {
        case .ipProtocol(let p, let n): return "meta l4proto \(op(n))\(nftProtocol(p))"
        case .sourceNet(let c, let n): return "\(ip) saddr \(op(n))\(c.network)"
        case .destinationNet(let c, let n): return "\(ip) daddr \(op(n))\(c.network)"
        case .sourceIPSet(let s, let n): return "\(ip) saddr \(op(n))@\(IPSetName.nftables(s))"
        case .destinationIPSet(let s, let n): return "\(ip) daddr \(op(n))@\(IPSetName.nftables(s))"
        case .sourceIPPortSet(let s, let n): return "\(ip) saddr . meta l4proto . th sport \(op(n))@\(IPSetName.nftables(s))"
        case .destinationIPPortSet(let s, let n): return "\(ip) daddr . meta l4proto . th dport \(op(n))@\(IPSetName.nftables(s))"
        case .sourcePorts(let ports, let n): return "th sport \(op(n))\(portsText(criterion, ports, family))"
        case .destinationPorts(let ports, let n): return "th dport \(op(n))\(portsText(criterion, ports, family))"
        case .icmp(let type, let code, let n):
            let kw = family == .v4 ? "icmp" : "icmpv6"
            guard let code else { return "\(kw) type \(op(n))\(type)" }
            if n, let set = derivedSet(criterion, family) { return "\(kw) type . \(kw) code != @\(set.name)" }
            return "\(kw) type \(type) \(kw) code \(code)"
        case .inInterface(let i, let n): return "iifname \(op(n))\(interfaceText(i))"
        case .outInterface(let i, let n): return "oifname \(op(n))\(interfaceText(i))"
        case .conntrack(let states, let n):
            let nat: ConntrackStates = [.dnat, .snat]
            var parts: [String] = []
            let plain = ConntrackStates.ordered.filter { states.contains($0.0) && !nat.contains($0.0) }.map { $0.1.lowercased() }
            let statuses = ConntrackStates.ordered.filter { states.contains($0.0) && nat.contains($0.0) }.map { $0.1.lowercased() }
            if !plain.isEmpty {
                parts.append(n ? "ct state & (\(plain.joined(separator: "|"))) == 0" : "ct state \(plain.joined(separator: ","))")
            }
            if !statuses.isEmpty {
                parts.append(n ? "ct status & (\(statuses.joined(separator: "|"))) == 0" : "ct status \(statuses.joined(separator: ","))")
            }
            return parts.joined(separator: " ")
        case .mark(let value, let mask, let n):
            return "meta mark & \(hex8(mask)) \(n ? "!=" : "==") \(hex8(value))"
        }
    }

    private func portsText(_ criterion: MatchCriterion, _ ports: PortList, _ family: IPAddress.Family) -> String {
        if let set = derivedSet(criterion, family) { return "@\(set.name)" }
        let r = ports.ranges[0]
        return r.first == r.last ? "\(r.first)" : "\(r.first)-\(r.last)"
    }

    private func render(_ action: RuleAction, _ table: TableName) -> String {
        switch action {
        case .accept: "accept"
        case .drop: "drop"
        case .reject: "reject"
        case .return: "return"
        case .jump(let chain): "jump \(chainName(table, chain))"
        case .goto(let chain): "goto \(chainName(table, chain))"
        case .setMark(let value, let mask):
            mask == .max ? "meta mark set \(hex8(value))" : "meta mark set meta mark & \(hex8(~mask)) | \(hex8(value & mask))"
        case .log(let prefix): "log prefix \"\(sanitizedComment(prefix))\" level notice"
        case .notrack: "notrack"
        case .masquerade: "masquerade"
        case .snat(let address): "snat to \(address)"
        }
    }

    private func interfaceText(_ match: InterfaceMatch) -> String {
        switch match {
        case .exact(let name): "\"\(name)\""
        case .prefix(let prefix): "\"\(prefix)*\""
        }
    }

    private func nftProtocol(_ p: IPProtocol) -> String {
        switch p {
        case .tcp, .udp, .sctp, .icmp, .udplite: p.name
        case .icmpv6: "ipv6-icmp"
        case .number(let n): String(n)
        }
    }

    private func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
