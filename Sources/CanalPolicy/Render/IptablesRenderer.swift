public import CanalModel
import CanalSelector

/// Renders rule sets as `iptables-restore` / `ip6tables-restore` input, in Felix's long-option
/// spelling, with Felix's `cali:<hash>` comment on every rule (the chained SHA-224 rule hash,
/// so the text and hashes of a faithful rule set are byte-identical to Felix's).
public struct IptablesRenderer: Sendable {
    /// A renderer.
    public init() {}

    /// Complete input for `iptables-restore` *without* `--noflush`: each table is replaced
    /// whole (kernel chains included: their hooks are written with `-A`, inserted ones first).
    public func restoreInput(_ ruleSet: RuleSet) -> String {
        var out = ""
        for table in ruleSet.tables {
            out += "*\(table.name.rawValue)\n"
            for chain in table.chains { out += ":\(chain.name) - [0:0]\n" }
            for chain in table.chains { out += appendLines(chain.name, chain.rules, family: ruleSet.family) }
            for hook in table.hooks {
                let hashes = insertHashes(hook, family: ruleSet.family)
                for (rule, hash) in zip(hook.inserted, hashes) {
                    out += "-A \(hook.chain) \(fragment(rule, hash: hash, family: ruleSet.family))\n"
                }
            }
            for hook in table.hooks {
                out += appendLines(hook.chain, hook.appended, family: ruleSet.family, hashChain: hook.chain + "*appends*")
            }
            out += "COMMIT\n"
        }
        return out
    }

    /// Input for `iptables-restore --noflush` that takes the kernel from `diff.old` to
    /// `diff.new`, touching only what changed: new chains are declared and filled; changed
    /// chains get `-R` for changed positions, `-A` for new tail rules and `-D` for surplus ones;
    /// removed chains are flushed first and deleted last; changed kernel-chain hooks are
    /// deleted by value and re-added. Empty when no table changes.
    public func restoreInput(_ diff: RuleSetDiff) -> String {
        let family = diff.new.family
        var out = ""
        for table in diff.tables {
            out += "*\(table.name.rawValue)\n"
            for chain in table.added { out += ":\(chain.name) - -\n" }
            for chain in table.removed { out += ":\(chain.name) - -\n" }
            for hooks in table.changedHooks {
                let old = hooks.old
                for (rule, hash) in zip(old.inserted, insertHashes(old, family: family)) {
                    out += "-D \(old.chain) \(fragment(rule, hash: hash, family: family))\n"
                }
                for (rule, hash) in zip(old.appended, hashes(old.chain + "*appends*", old.appended, family: family)) {
                    out += "-D \(old.chain) \(fragment(rule, hash: hash, family: family))\n"
                }
            }
            for chain in table.added { out += appendLines(chain.name, chain.rules, family: family) }
            for change in table.changed {
                let newHashes = hashes(change.name, change.new, family: family)
                let common = min(change.old.count, change.new.count)
                for i in change.firstChange..<max(common, change.firstChange) {
                    out += "-R \(change.name) \(i + 1) \(fragment(change.new[i], hash: newHashes[i], family: family))\n"
                }
                for i in max(common, change.firstChange)..<change.new.count {
                    out += "-A \(change.name) \(fragment(change.new[i], hash: newHashes[i], family: family))\n"
                }
                for _ in change.new.count..<max(change.new.count, change.old.count) {
                    out += "-D \(change.name) \(change.new.count + 1)\n"
                }
            }
            for hooks in table.changedHooks {
                let new = hooks.new
                let hashes = insertHashes(new, family: family)
                for (rule, hash) in zip(new.inserted, hashes).reversed() {
                    out += "-I \(new.chain) \(fragment(rule, hash: hash, family: family))\n"
                }
            }
            for hooks in table.changedHooks {
                out += appendLines(hooks.new.chain, hooks.new.appended, family: family, hashChain: hooks.new.chain + "*appends*")
            }
            for chain in table.removed { out += "--delete-chain \(chain.name)\n" }
            out += "COMMIT\n"
        }
        return out
    }

    /// Felix's rule hashes for `rules` in chain `chain`: `h0 = SHA-224(chain)`,
    /// `h(i) = SHA-224(h(i-1) ‖ "-A <chain> HASH <rule>")`, each shown as the first 16
    /// characters of its base64url form.
    public func hashes(_ chain: String, _ rules: [ChainRule], family: IPAddress.Family) -> [String] {
        var state = SHA2.sha224(Array(chain.utf8))
        return rules.map { rule in
            state = SHA2.sha224(state + Array("-A \(chain) HASH \(fragment(rule, hash: nil, family: family))".utf8))
            return String(Base64URL.encodeNoPadding(state).prefix(16))
        }
    }

    /// One rule's text after `-A <chain> `: hash comment, comments, criteria, action.
    public func fragment(_ rule: ChainRule, hash: String?, family: IPAddress.Family) -> String {
        var parts: [String] = []
        if let hash { parts.append("-m comment --comment \"cali:\(hash)\"") }
        for comment in rule.comments { parts.append("-m comment --comment \"\(sanitizedComment(comment))\"") }
        for criterion in rule.match { parts.append(render(criterion, family: family)) }
        parts.append(render(rule.action))
        return parts.joined(separator: " ")
    }

    private func insertHashes(_ hook: KernelChainHooks, family: IPAddress.Family) -> [String] {
        hashes(hook.chain, hook.inserted, family: family)
    }

    private func appendLines(_ chain: String, _ rules: [ChainRule], family: IPAddress.Family, hashChain: String? = nil) -> String {
        let hashes = hashes(hashChain ?? chain, rules, family: family)
        return zip(rules, hashes).map { "-A \(chain) \(fragment($0, hash: $1, family: family))\n" }.joined()
    }

    private func render(_ criterion: MatchCriterion, family: IPAddress.Family) -> String {
        func not(_ negated: Bool) -> String { negated ? "! " : "" }
        switch criterion {
        case .ipProtocol(let p, let n): return "\(not(n))-p \(p.name)"
        case .sourceNet(let c, let n): return "\(not(n))--source \(c.network)"
        case .destinationNet(let c, let n): return "\(not(n))--destination \(c.network)"
        case .sourceIPSet(let s, let n): return "-m set \(not(n))--match-set \(s) src"
        case .destinationIPSet(let s, let n): return "-m set \(not(n))--match-set \(s) dst"
        case .sourceIPPortSet(let s, let n): return "-m set \(not(n))--match-set \(s) src,src"
        case .destinationIPPortSet(let s, let n): return "-m set \(not(n))--match-set \(s) dst,dst"
        case .sourcePorts(let ports, let n):
            return "-m multiport \(not(n))--source-ports \(ports.ranges.map(\.description).joined(separator: ","))"
        case .destinationPorts(let ports, let n):
            return "-m multiport \(not(n))--destination-ports \(ports.ranges.map(\.description).joined(separator: ","))"
        case .icmp(let type, let code, let n):
            let value = code.map { "\(type)/\($0)" } ?? String(type)
            return family == .v4 ? "-m icmp \(not(n))--icmp-type \(value)" : "-m icmp6 \(not(n))--icmpv6-type \(value)"
        case .inInterface(let i, let n): return "\(not(n))--in-interface \(interfaceText(i))"
        case .outInterface(let i, let n): return "\(not(n))--out-interface \(interfaceText(i))"
        case .conntrack(let states, let n):
            let names = ConntrackStates.ordered.filter { states.contains($0.0) }.map(\.1)
            return "-m conntrack \(not(n))--ctstate \(names.joined(separator: ","))"
        case .mark(let value, let mask, let n): return "-m mark \(not(n))--mark \(hex(value))/\(hex(mask))"
        }
    }

    private func render(_ action: RuleAction) -> String {
        switch action {
        case .accept: "--jump ACCEPT"
        case .drop: "--jump DROP"
        case .reject: "--jump REJECT"
        case .return: "--jump RETURN"
        case .jump(let chain): "--jump \(chain)"
        case .goto(let chain): "--goto \(chain)"
        case .setMark(let value, let mask): "--jump MARK --set-mark \(hex(value))/\(hex(mask))"
        case .log(let prefix): "--jump LOG --log-prefix \"\(sanitizedComment(prefix))\" --log-level 5"
        case .notrack: "--jump CT --notrack"
        }
    }

    private func interfaceText(_ match: InterfaceMatch) -> String {
        switch match {
        case .exact(let name): name
        case .prefix(let prefix): prefix + "+"
        }
    }
}

/// `0` for zero, else `0x…` in lower case (Felix's mark spelling).
func hex(_ value: UInt32) -> String { value == 0 ? "0" : "0x" + String(value, radix: 16) }

/// Felix's comment rule: characters outside `[A-Za-z0-9_ @%+=:,./-]` become `_`; at most 256.
func sanitizedComment(_ text: String) -> String {
    let safe = text.unicodeScalars.map { scalar -> Character in
        let ok = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
            || "_ @%+=:,./-".unicodeScalars.contains(scalar))
        return ok ? Character(scalar) : "_"
    }
    return String(String(safe).utf8.prefix(256))!
}
