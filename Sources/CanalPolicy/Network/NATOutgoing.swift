public import CanalModel

/// The host-networking settings the nat and raw rules depend on (a FelixConfiguration's part
/// that is not policy).
public struct HostNetworkSettings: Sendable, Hashable {
    /// `natOutgoingAddress`: SNAT to this address instead of masquerading (IPv4 only, as Felix).
    public var natOutgoingAddress: IPAddress?
    /// `iptablesNATOutgoingInterfaceFilter`: only masquerade traffic leaving this interface
    /// (a trailing `+` matches a prefix).
    public var natOutgoingInterface: String?

    /// Settings; nil fields take Felix's defaults.
    public init(natOutgoingAddress: IPAddress? = nil, natOutgoingInterface: String? = nil) {
        self.natOutgoingAddress = natOutgoingAddress
        self.natOutgoingInterface = natOutgoingInterface
    }

    /// The settings of a FelixConfiguration spec.
    ///
    /// - Throws: ``PolicyCompileError`` naming the field when `natOutgoingAddress` is not an
    ///   IPv4 address.
    public init(_ spec: FelixConfigurationSpec) throws(PolicyCompileError) {
        if !spec.natOutgoingAddress.isEmpty {
            guard let address = IPAddress(spec.natOutgoingAddress), address.family == .v4 else {
                throw PolicyCompileError("natOutgoingAddress: \(spec.natOutgoingAddress) is not an IPv4 address")
            }
            natOutgoingAddress = address
        }
        natOutgoingInterface = spec.iptablesNATOutgoingInterfaceFilter.isEmpty ? nil : spec.iptablesNATOutgoingInterfaceFilter
    }
}

/// Felix's outgoing NAT (`felix/rules/nat.go`, the masquerade manager): two IP sets, every
/// pool's CIDR (`cali40all-ipam-pools`) and the CIDRs of pools with `natOutgoing`
/// (`cali40masq-ipam-pools`), and the nat table's `cali-nat-outgoing` chain, called from
/// `cali-POSTROUTING` (appended to `POSTROUTING`), which masquerades (or SNATs to
/// `natOutgoingAddress`) traffic from a masquerading pool to any address outside every pool.
/// Pool-to-pool traffic keeps its source. Pure: the agent merges the result into the policy's
/// rule set.
public enum NATOutgoing {
    /// The ID of the set of every pool (`all-ipam-pools`).
    public static let allPoolsID = "all-ipam-pools"
    /// The ID of the set of masquerading pools (`masq-ipam-pools`).
    public static let masqueradePoolsID = "masq-ipam-pools"
    /// The chain holding the rule.
    public static let chain = "cali-nat-outgoing"
    /// The nat table's top chain.
    public static let postrouting = "cali-POSTROUTING"

    /// The nat table and the two IP sets of one family; nil when the family has no pool (Felix
    /// programs the empty chain and sets anyway; leaving the nat table untouched on a host
    /// without pools keeps `--cleanup` exact there). The chain is empty while no pool of the
    /// family masquerades (Felix's `natOutgoingActive`).
    ///
    /// Pools whose CIDR does not parse are skipped (validation rejects them on write).
    public static func rules(pools: [IPPool], settings: HostNetworkSettings, family: IPAddress.Family) -> (table: Table, ipSets: [IPSet])? {
        var all = Set<IPSetMember>(), masquerade = Set<IPSetMember>()
        for pool in pools {
            guard let cidr = CIDR(pool.spec.cidr), cidr.family == family else { continue }
            all.insert(.net(cidr))
            if pool.spec.natOutgoing { masquerade.insert(.net(cidr)) }
        }
        if all.isEmpty { return nil }
        let allName = IPSetName.main(id: allPoolsID, family: family)
        let masqueradeName = IPSetName.main(id: masqueradePoolsID, family: family)
        var rules: [ChainRule] = []
        if !masquerade.isEmpty {
            var match: [MatchCriterion] = [.sourceIPSet(masqueradeName), .destinationIPSet(allName, negated: true)]
            if let interface = settings.natOutgoingInterface {
                match.append(.outInterface(interface.hasSuffix("+") ? .prefix(String(interface.dropLast())) : .exact(interface)))
            }
            let action: RuleAction = if let address = settings.natOutgoingAddress, address.family == family {
                .snat(address)
            } else {
                .masquerade
            }
            rules.append(ChainRule(match, action))
        }
        let table = Table(.nat, chains: [
            Chain(postrouting, [ChainRule([], .jump(chain))]),
            Chain(chain, rules),
        ], hooks: [KernelChainHooks(chain: "POSTROUTING", appended: [ChainRule([], .jump(postrouting))])])
        return (table, [
            IPSet(name: allName, type: .hashNet, family: family, members: all),
            IPSet(name: masqueradeName, type: .hashNet, family: family, members: masquerade),
        ])
    }
}

extension RuleSet {
    /// This rule set with `tables` and `ipSets` added: a table of a name already present gets
    /// the chains and hooks appended (names must not collide); sets must have new names.
    public func merging(tables extra: [Table], ipSets extraSets: [IPSet]) -> RuleSet {
        var copy = self
        for table in extra {
            if let i = copy.tables.firstIndex(where: { $0.name == table.name }) {
                copy.tables[i].chains += table.chains
                copy.tables[i].chains.sort { $0.name < $1.name }
                for hook in table.hooks {
                    if let h = copy.tables[i].hooks.firstIndex(where: { $0.chain == hook.chain }) {
                        copy.tables[i].hooks[h].inserted = hook.inserted + copy.tables[i].hooks[h].inserted
                        copy.tables[i].hooks[h].appended += hook.appended
                    } else {
                        copy.tables[i].hooks.append(hook)
                    }
                }
            } else {
                var sorted = table
                sorted.chains.sort { $0.name < $1.name }
                copy.tables.append(sorted)
            }
        }
        copy.ipSets += extraSets
        return copy
    }
}
