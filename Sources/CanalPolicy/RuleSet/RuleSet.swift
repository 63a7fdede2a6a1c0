public import CanalModel

/// The dataplane-neutral desired state of one IP family on one node: tables of chains and the
/// IP sets their rules reference. The renderers turn it (or the difference between two of them)
/// into `iptables-restore`, `ipset restore` and `nft -f` input.
public struct RuleSet: Sendable, Hashable {
    /// The family every address in the rule set has.
    public var family: IPAddress.Family
    /// The tables, at most one per ``TableName``.
    public var tables: [Table]
    /// The IP sets, names unique.
    public var ipSets: [IPSet]

    /// A rule set.
    public init(family: IPAddress.Family, tables: [Table] = [], ipSets: [IPSet] = []) {
        self.family = family
        self.tables = tables
        self.ipSets = ipSets
    }

    /// The table named `name`, if present.
    public func table(_ name: TableName) -> Table? { tables.first { $0.name == name } }

    /// Every problem that would make the rendered input fail or mean something else; empty when
    /// the rule set is well formed.
    public func problems() -> [String] {
        var problems: [String] = []
        var setsByName: [String: IPSet] = [:]
        for set in ipSets {
            if setsByName.updateValue(set, forKey: set.name) != nil { problems.append("IP set \(set.name) defined twice") }
            if set.name.utf8.count > IPSetName.maxLength {
                problems.append("IP set name \(set.name) longer than \(IPSetName.maxLength)")
            }
            if set.family != family { problems.append("IP set \(set.name) has family \(set.family), rule set \(family)") }
            for member in set.members {
                if member.family != set.family { problems.append("IP set \(set.name): member \(member) of the wrong family") }
                let fits = switch (member, set.type) {
                case (.address, .hashIP), (.net, .hashNet), (.addressPort, .hashIPPort): true
                default: false
                }
                if !fits { problems.append("IP set \(set.name): member \(member) does not fit \(set.type.rawValue)") }
            }
        }
        var seenTables = Set<TableName>()
        for table in tables {
            if !seenTables.insert(table.name).inserted { problems.append("table \(table.name) given twice") }
            let owned = Set(table.chains.map(\.name))
            if owned.count != table.chains.count { problems.append("table \(table.name): duplicate chain names") }
            let kernel = Set(table.name.kernelChains.map(\.name))
            for hook in table.hooks where !kernel.contains(hook.chain) {
                problems.append("table \(table.name): \(hook.chain) is not a kernel chain of the table")
            }
            let located = table.chains.flatMap { c in c.rules.map { (c.name, $0) } }
                + table.hooks.flatMap { h in (h.inserted + h.appended).map { (h.chain, $0) } }
            for chain in table.chains where chain.name.utf8.count > ChainName.maxLength {
                problems.append("chain \(chain.name) longer than \(ChainName.maxLength)")
            }
            for (chain, rule) in located {
                if let target = rule.action.target, !owned.contains(target) {
                    problems.append("\(chain): target \(target) is not a chain of table \(table.name)")
                }
                var sawProtocol = false
                for criterion in rule.match {
                    if let name = criterion.ipSetName {
                        if let set = setsByName[name] {
                            let wantsPorts = switch criterion {
                            case .sourceIPPortSet, .destinationIPPortSet: true
                            default: false
                            }
                            if wantsPorts != (set.type == .hashIPPort) {
                                problems.append("\(chain): IP set \(name) of type \(set.type.rawValue) used as \(wantsPorts ? "ip,port" : "address") set")
                            }
                        } else {
                            problems.append("\(chain): IP set \(name) is not defined")
                        }
                    }
                    if let cidr = criterion.cidr, cidr.family != family {
                        problems.append("\(chain): \(cidr) is not \(family)")
                    }
                    switch criterion {
                    case .ipProtocol(_, false): sawProtocol = true
                    case .sourcePorts, .destinationPorts:
                        if !sawProtocol { problems.append("\(chain): ports without a protocol before them") }
                    default: break
                    }
                }
            }
        }
        return problems
    }
}
