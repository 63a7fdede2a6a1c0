import CanalModel

/// Renders IP sets as `ipset restore` input with Felix's names.
public struct IPSetRenderer: Sendable {
    /// The two scripts of an update: one to run before the new rules go in (creates, member
    /// changes, rebuilds), one after the old rules are gone (destroys).
    public struct Update: Sendable, Hashable {
        /// Run before `iptables-restore`.
        public let beforeRules: String
        /// Run after `iptables-restore`.
        public let afterRules: String
    }

    /// A renderer.
    public init() {}

    /// Input that makes every set of `ruleSet` exist with exactly its members: `create -exist`,
    /// `flush`, `add` per set. (Fine for a fresh node; a live node should use an update.)
    public func restoreInput(_ ruleSet: RuleSet) -> String {
        var out = ""
        for set in ruleSet.ipSets {
            out += create(set, name: set.name, exist: true)
            out += "flush \(set.name)\n"
            for member in set.sortedMembers { out += "add \(set.name) \(member)\n" }
        }
        return out + "COMMIT\n"
    }

    /// The update from `diff.old`'s sets to `diff.new`'s: new sets are created and filled,
    /// changed sets get `add`/`del` deltas, sets whose type, family or size changes are built
    /// under a temporary name and `swap`ped in; removed sets are destroyed in ``Update/afterRules``.
    public func update(_ diff: IPSetDiff) -> Update {
        var before = ""
        for set in diff.created {
            before += create(set, name: set.name, exist: false)
            for member in set.sortedMembers { before += "add \(set.name) \(member)\n" }
        }
        for change in diff.memberChanges {
            for member in change.added { before += "add \(change.name) \(member) -exist\n" }
            for member in change.removed { before += "del \(change.name) \(member) -exist\n" }
        }
        for (index, set) in diff.redefined.enumerated() {
            let temp = IPSetName.temporary(index, family: set.family)
            before += create(set, name: temp, exist: false)
            for member in set.sortedMembers { before += "add \(temp) \(member)\n" }
            before += "swap \(temp) \(set.name)\n"
            before += "destroy \(temp)\n"
        }
        var after = ""
        for set in diff.destroyed { after += "destroy \(set.name)\n" }
        return Update(
            beforeRules: before.isEmpty ? "" : before + "COMMIT\n",
            afterRules: after.isEmpty ? "" : after + "COMMIT\n")
    }

    private func create(_ set: IPSet, name: String, exist: Bool) -> String {
        let family = set.family == .v4 ? "inet" : "inet6"
        return "create \(name) \(set.type.rawValue) family \(family) maxelem \(set.maxSize)\(exist ? " -exist" : "")\n"
    }
}
