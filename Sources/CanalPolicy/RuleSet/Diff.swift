/// The difference between two rule sets of one family: what an incremental update must change.
///
/// Chains compare rule by rule from the top, as Felix's position-by-position hash comparison
/// does: rules before the first difference stay, the rest are replaced, appended or deleted
/// (a rule's hash covers every rule before it, so nothing after a change can be kept in place).
public struct RuleSetDiff: Sendable, Hashable {
    /// The state before.
    public let old: RuleSet
    /// The state after.
    public let new: RuleSet
    /// Per table, in the new rule set's table order (then tables only the old one had).
    public let tables: [TableDiff]
    /// The IP set changes.
    public let ipSets: IPSetDiff

    /// The update from `old` to `new`. Both must be of the same family.
    public init(from old: RuleSet, to new: RuleSet) {
        precondition(old.family == new.family, "a diff is within one IP family")
        self.old = old
        self.new = new
        var names = new.tables.map(\.name)
        names += old.tables.map(\.name).filter { !names.contains($0) }
        tables = names.compactMap { name in
            let diff = TableDiff(
                from: old.table(name) ?? Table(name), to: new.table(name) ?? Table(name))
            return diff.isEmpty ? nil : diff
        }
        ipSets = IPSetDiff(from: old.ipSets, to: new.ipSets)
    }

    /// A diff from parts computed elsewhere (the incremental compiler's touched chains and sets).
    init(old: RuleSet, new: RuleSet, tables: [TableDiff], ipSets: IPSetDiff) {
        self.old = old
        self.new = new
        self.tables = tables
        self.ipSets = ipSets
    }

    /// Whether nothing changes.
    public var isEmpty: Bool { tables.isEmpty && ipSets.isEmpty }
}

/// One table's changes.
public struct TableDiff: Sendable, Hashable {
    /// One chain present before and after whose rules differ.
    public struct ChangedChain: Sendable, Hashable {
        /// The chain's name.
        public let name: String
        /// Its rules before.
        public let old: [ChainRule]
        /// Its rules after.
        public let new: [ChainRule]
        /// The index of the first rule that differs.
        public let firstChange: Int
    }

    /// One kernel chain whose hooks differ.
    public struct ChangedHooks: Sendable, Hashable {
        /// The hooks before (empty if none).
        public let old: KernelChainHooks
        /// The hooks after (empty if none).
        public let new: KernelChainHooks
    }

    /// The table.
    public let name: TableName
    /// Chains to create, in the new table's order.
    public let added: [Chain]
    /// Chains to delete, with their old content.
    public let removed: [Chain]
    /// Chains whose rules change.
    public let changed: [ChangedChain]
    /// Kernel chains whose hooks change.
    public let changedHooks: [ChangedHooks]

    /// The changes from `old` to `new` (same table name).
    public init(from old: Table, to new: Table) {
        name = new.name
        let oldByName = Dictionary(old.chains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.chains.map(\.name))
        added = new.chains.filter { oldByName[$0.name] == nil }
        removed = old.chains.filter { !newNames.contains($0.name) }
        changed = new.chains.compactMap { chain in
            guard let before = oldByName[chain.name], before.rules != chain.rules else { return nil }
            let common = zip(before.rules, chain.rules).prefix { $0 == $1 }.count
            return ChangedChain(name: chain.name, old: before.rules, new: chain.rules, firstChange: common)
        }
        var kernelNames = new.hooks.map(\.chain)
        kernelNames += old.hooks.map(\.chain).filter { !kernelNames.contains($0) }
        changedHooks = kernelNames.compactMap { kernel in
            let before = old.hooks.first { $0.chain == kernel } ?? KernelChainHooks(chain: kernel)
            let after = new.hooks.first { $0.chain == kernel } ?? KernelChainHooks(chain: kernel)
            return before == after ? nil : ChangedHooks(old: before, new: after)
        }
    }

    /// The changes among the chains named `touched` (sorted, unique) of two tables whose chains
    /// are sorted by name and whose hooks are equal; chains not touched must be equal.
    init(sortedFrom old: Table, to new: Table, touched: [String]) {
        name = new.name
        var added: [Chain] = [], removed: [Chain] = [], changed: [ChangedChain] = []
        for chainName in touched {
            let before = old.sortedChain(named: chainName), after = new.sortedChain(named: chainName)
            switch (before, after) {
            case (nil, let a?): added.append(a)
            case (let b?, nil): removed.append(b)
            case (let b?, let a?) where b.rules != a.rules:
                let common = zip(b.rules, a.rules).prefix { $0 == $1 }.count
                changed.append(ChangedChain(name: chainName, old: b.rules, new: a.rules, firstChange: common))
            default: break
            }
        }
        self.added = added
        self.removed = removed
        self.changed = changed
        changedHooks = []
    }

    /// Whether nothing changes.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty && changedHooks.isEmpty }
}

/// IP set changes.
public struct IPSetDiff: Sendable, Hashable {
    /// Members to add to and remove from one set that keeps its definition.
    public struct MemberChange: Sendable, Hashable {
        /// The set's name.
        public let name: String
        /// Members to add, sorted.
        public let added: [IPSetMember]
        /// Members to remove, sorted.
        public let removed: [IPSetMember]
    }

    /// Sets to create (with their members).
    public let created: [IPSet]
    /// Sets to destroy (once no rule references them).
    public let destroyed: [IPSet]
    /// Sets whose type, family or size changes: rebuilt whole (old definition, new definition).
    public let redefined: [IPSet]
    /// Member changes of sets that keep their definition.
    public let memberChanges: [MemberChange]

    /// The changes from `old` to `new`.
    public init(from old: [IPSet], to new: [IPSet]) {
        let oldByName = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.map(\.name))
        var created: [IPSet] = []
        var redefined: [IPSet] = []
        var changes: [MemberChange] = []
        for set in new {
            guard let before = oldByName[set.name] else {
                created.append(set)
                continue
            }
            if before.type != set.type || before.family != set.family || before.maxSize != set.maxSize {
                redefined.append(set)
            } else if before.members != set.members {
                changes.append(MemberChange(
                    name: set.name,
                    added: set.members.subtracting(before.members).sorted(),
                    removed: before.members.subtracting(set.members).sorted()))
            }
        }
        self.created = created
        self.redefined = redefined
        memberChanges = changes
        destroyed = old.filter { !newNames.contains($0.name) }
    }

    /// Whether nothing changes.
    public var isEmpty: Bool { created.isEmpty && destroyed.isEmpty && redefined.isEmpty && memberChanges.isEmpty }
}
