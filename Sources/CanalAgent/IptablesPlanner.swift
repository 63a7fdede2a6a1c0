import CanalModel
import CanalPolicy

/// Plans the writes that make the kernel's iptables and ipset state equal a desired rule set,
/// starting from what the kernel actually holds (Felix's table reconciliation, §7 of
/// felix-rules.md): pure, so it is tested without a kernel.
///
/// A chain is rewritten (declared, which creates or flushes it, then refilled) only when its
/// `cali:` hash list differs from the desired one; Canal chains nobody wants any more are
/// flushed first and deleted last; hooks in kernel chains are checked for position (inserted
/// ones on top, appended ones at the end) and, when wrong, deleted by value and re-added.
/// Everything for one table goes in one `*table … COMMIT` transaction for
/// `iptables-restore --noflush`, so the kernel switches from the old state to the new at once:
/// there is never a moment when a chain that endpoints jump to is empty.
struct IptablesPlanner: Sendable {
    let renderer = IptablesRenderer()
    /// Rule hashes of the chains last planned, by family and name: a chain whose rules did not
    /// change is not hashed again (hashing every rule of a large node dominates the plan).
    private var hashCache: [HashKey: (rules: [ChainRule], hashes: [String])] = [:]

    private struct HashKey: Hashable {
        var family: IPAddress.Family
        var table: TableName
        var chain: String
    }

    init() {}

    private mutating func hashes(_ chain: Chain, table: TableName, family: IPAddress.Family) -> [String] {
        let key = HashKey(family: family, table: table, chain: chain.name)
        if let cached = hashCache[key], cached.rules == chain.rules { return cached.hashes }
        let hashes = renderer.hashes(chain.name, chain.rules, family: family)
        hashCache[key] = (chain.rules, hashes)
        return hashes
    }

    /// The `--noflush` input that takes `actual` to `desired` (empty when they agree).
    /// Tables of `managedTables` absent from `desired` lose every Canal chain and hook.
    ///
    /// With `only`, just the chains (and the hooks in kernel chains) of those names are
    /// planned, in the tables `desired` holds: the rest is taken to be in place already (the
    /// agent passes the names an incremental compile touched, when its model of the kernel is
    /// what it last wrote). The cost is then that of the touched chains, not of the node.
    mutating func restoreInput(desired: RuleSet, actual: IptablesSnapshot,
                      managedTables: [TableName] = TableName.allCases, only: Set<String>? = nil) -> String {
        var out = ""
        var names = desired.tables.map(\.name)
        if only == nil { names += managedTables.filter { !names.contains($0) } }
        for name in names {
            let table = desired.table(name) ?? Table(name)
            let kernel = actual.tables[name.rawValue] ?? IptablesTableSnapshot()
            if desired.table(name) == nil && kernel.ownedChains.isEmpty
                && !kernel.rules.values.contains(where: { $0.contains(where: \.isOwned) }) { continue }
            let lines = tableLines(table, family: desired.family, kernel: kernel, only: only)
            if !lines.isEmpty { out += "*\(name.rawValue)\n" + lines + "COMMIT\n" }
        }
        return out
    }

    private mutating func tableLines(_ table: Table, family: IPAddress.Family, kernel: IptablesTableSnapshot,
                                     only: Set<String>?) -> String {
        var declare = "", hookDeletes = "", bodies = "", hookAdds = "", deletes = ""
        let chains = only.map { only in table.chains.filter { only.contains($0.name) } } ?? table.chains
        let wanted = Set(chains.map(\.name))
        if only == nil {
            // Forget chains that are gone, so the cache does not grow without bound.
            for key in hashCache.keys where key.family == family && key.table == table.name && !wanted.contains(key.chain) {
                hashCache.removeValue(forKey: key)
            }
        }
        for chain in chains {
            let hashes = hashes(chain, table: table.name, family: family)
            if let existing = kernel.rules[chain.name], existing.map(\.hash) == hashes.map(Optional.some) { continue }
            declare += ":\(chain.name) - -\n"
            for (rule, hash) in zip(chain.rules, hashes) {
                bodies += "-A \(chain.name) \(renderer.fragment(rule, hash: hash, family: family))\n"
            }
        }
        let unwanted: [String]
        if let only {
            unwanted = only.sorted().filter { !wanted.contains($0) && IptablesSnapshot.isOwnedChain($0) && kernel.rules[$0] != nil }
            for chain in only where !wanted.contains(chain) {
                hashCache.removeValue(forKey: HashKey(family: family, table: table.name, chain: chain))
            }
        } else {
            unwanted = kernel.ownedChains.filter { !wanted.contains($0) }
        }
        for chain in unwanted {
            declare += ":\(chain) - -\n"
            deletes += "-X \(chain)\n"
        }
        // Hooks in the kernel's own chains.
        var kernelChains = table.hooks.map(\.chain)
        if let only {
            kernelChains = only.sorted().filter { kernelChains.contains($0) || kernel.builtIn.contains($0) }
        } else {
            for chain in kernel.chainOrder where kernel.builtIn.contains(chain) && !kernelChains.contains(chain) {
                if kernel.rules[chain, default: []].contains(where: \.isOwned) { kernelChains.append(chain) }
            }
        }
        for chain in kernelChains {
            let hook = table.hooks.first { $0.chain == chain } ?? KernelChainHooks(chain: chain)
            let inserted = renderer.hashes(chain, hook.inserted, family: family)
            let appended = renderer.hashes(chain + "*appends*", hook.appended, family: family)
            let rules = kernel.rules[chain] ?? []
            if Self.hooksInPlace(rules, inserted: inserted, appended: appended) { continue }
            for rule in rules where rule.isOwned { hookDeletes += "-D \(chain) \(rule.text)\n" }
            for (rule, hash) in zip(hook.inserted, inserted).reversed() {
                hookAdds += "-I \(chain) 1 \(renderer.fragment(rule, hash: hash, family: family))\n"
            }
            for (rule, hash) in zip(hook.appended, appended) {
                hookAdds += "-A \(chain) \(renderer.fragment(rule, hash: hash, family: family))\n"
            }
        }
        return declare + hookDeletes + bodies + hookAdds + deletes
    }

    /// Whether a kernel chain holds exactly Canal's inserted rules at its top, its appended
    /// rules at its end, and no other rule of Canal's.
    static func hooksInPlace(_ rules: [IptablesTableSnapshot.Rule], inserted: [String], appended: [String]) -> Bool {
        guard rules.count >= inserted.count + appended.count else { return false }
        guard rules.prefix(inserted.count).map(\.hash) == inserted.map(Optional.some),
              rules.suffix(appended.count).map(\.hash) == appended.map(Optional.some) else { return false }
        return !rules.dropFirst(inserted.count).dropLast(appended.count).contains(where: \.isOwned)
    }

    /// `ipset restore` scripts that take the kernel's Canal sets to `desired` (both families):
    /// `before` creates and fills sets and changes members (run before the rules change, so no
    /// rule ever references a missing set); `destroy` lists the sets no longer wanted, to destroy (run once no
    /// rule references them).
    /// With `only`, just the sets of those names are considered.
    func ipSetScripts(desired: [IPSet], actual: IPSetSnapshot, only: Set<String>? = nil) -> (before: String, destroy: [String]) {
        var before = ""
        var temporaries = 0
        let desired = only.map { only in desired.filter { only.contains($0.name) } } ?? desired
        for set in desired {
            let family = set.family == .v4 ? "inet" : "inet6"
            let members = Set(set.members.map { IPSetSnapshot.normalized($0.description) })
            let create = "\(set.type.rawValue) family \(family) maxelem \(set.maxSize)"
            if let existing = actual.sets[set.name] {
                if existing.type == set.type.rawValue && existing.family == family && existing.maxSize == set.maxSize {
                    for member in members.subtracting(existing.members).sorted() { before += "add \(set.name) \(member) -exist\n" }
                    for member in existing.members.subtracting(members).sorted() { before += "del \(set.name) \(member) -exist\n" }
                    continue
                }
                // A different definition: build the set under a temporary name and swap it in.
                var temp: String
                repeat {
                    temp = IPSetName.temporary(temporaries, family: set.family)
                    temporaries += 1
                } while actual.sets[temp] != nil
                before += "create \(temp) \(create)\n"
                for member in members.sorted() { before += "add \(temp) \(member)\n" }
                before += "swap \(temp) \(set.name)\ndestroy \(temp)\n"
            } else {
                before += "create \(set.name) \(create)\n"
                for member in members.sorted() { before += "add \(set.name) \(member)\n" }
            }
        }
        let wanted = Set(desired.map(\.name))
        let candidates = only.map { only in only.filter { actual.sets[$0] != nil } } ?? Array(actual.sets.keys)
        let destroy = candidates.sorted().filter { !wanted.contains($0) }
        return (before.isEmpty ? "" : before + "COMMIT\n", destroy)
    }
}
