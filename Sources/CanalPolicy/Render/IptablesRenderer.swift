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
        var out = Output()
        let family = ruleSet.family
        for table in ruleSet.tables {
            out.line("*", table.name.rawValue)
            for chain in table.chains { out.line(":", chain.name, " - [0:0]") }
            for chain in table.chains { out.appendLines(chain.name, chain.rules, family: family, renderer: self) }
            for hook in table.hooks {
                out.hashedLines("-A ", hook.chain, "", hashChain: hook.chain, hook.inserted, family: family, renderer: self)
            }
            for hook in table.hooks {
                out.appendLines(hook.chain, hook.appended, family: family, hashChain: hook.chain + "*appends*", renderer: self)
            }
            out.line("COMMIT")
        }
        return out.string
    }

    /// Input for `iptables-restore --noflush` that takes the kernel from `diff.old` to
    /// `diff.new`, touching only what changed: new chains are declared and filled; changed
    /// chains get `-R` for changed positions, `-A` for new tail rules and `-D` for surplus ones;
    /// removed chains are flushed first and deleted last; changed kernel-chain hooks are
    /// deleted by value and re-added. Empty when no table changes.
    public func restoreInput(_ diff: RuleSetDiff) -> String {
        let family = diff.new.family
        var out = Output()
        for table in diff.tables {
            out.line("*", table.name.rawValue)
            for chain in table.added { out.line(":", chain.name, " - -") }
            for chain in table.removed { out.line(":", chain.name, " - -") }
            for hooks in table.changedHooks {
                let old = hooks.old
                out.hashedLines("-D ", old.chain, "", hashChain: old.chain, old.inserted, family: family, renderer: self)
                out.hashedLines("-D ", old.chain, "", hashChain: old.chain + "*appends*", old.appended, family: family, renderer: self)
            }
            for chain in table.added { out.appendLines(chain.name, chain.rules, family: family, renderer: self) }
            for change in table.changed {
                let common = min(change.old.count, change.new.count)
                var state = Self.initialHash(change.name)
                var body: [UInt8] = []
                for i in 0..<change.new.count {
                    body.removeAll(keepingCapacity: true)
                    appendBody(change.new[i], family: family, to: &body)
                    state = Self.nextHash(state, chain: change.name, body: body)
                    guard i >= change.firstChange else { continue }
                    if i < common {
                        out.text("-R ", change.name, " ", String(i + 1), " ")
                    } else {
                        out.text("-A ", change.name, " ")
                    }
                    out.hashedRule(state, body)
                }
                for _ in change.new.count..<max(change.new.count, change.old.count) {
                    out.line("-D ", change.name, " ", String(change.new.count + 1))
                }
            }
            for hooks in table.changedHooks {
                let new = hooks.new
                let hashes = insertHashes(new, family: family)
                for (rule, hash) in zip(new.inserted, hashes).reversed() {
                    out.line("-I ", new.chain, " ", fragment(rule, hash: hash, family: family))
                }
            }
            for hooks in table.changedHooks {
                out.appendLines(hooks.new.chain, hooks.new.appended, family: family, hashChain: hooks.new.chain + "*appends*", renderer: self)
            }
            for chain in table.removed { out.line("--delete-chain ", chain.name) }
            out.line("COMMIT")
        }
        return out.string
    }

    /// Felix's rule hashes for `rules` in chain `chain`: `h0 = SHA-224(chain)`,
    /// `h(i) = SHA-224(h(i-1) ‖ "-A <chain> HASH <rule>")`, each shown as the first 16
    /// characters of its base64url form.
    public func hashes(_ chain: String, _ rules: [ChainRule], family: IPAddress.Family) -> [String] {
        var state = Self.initialHash(chain)
        var body: [UInt8] = []
        return rules.map { rule in
            body.removeAll(keepingCapacity: true)
            appendBody(rule, family: family, to: &body)
            state = Self.nextHash(state, chain: chain, body: body)
            return Self.shown(state)
        }
    }

    /// One rule's text after `-A <chain> `: hash comment, comments, criteria, action.
    public func fragment(_ rule: ChainRule, hash: String?, family: IPAddress.Family) -> String {
        var out: [UInt8] = []
        if let hash {
            out += Self.hashCommentStart
            out += hash.utf8
            out += Self.hashCommentEnd
        }
        appendBody(rule, family: family, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hashCommentStart = Array("-m comment --comment \"cali:".utf8)
    private static let hashCommentEnd = Array("\" ".utf8)

    static func initialHash(_ chain: String) -> [UInt8] { SHA2.sha224(Array(chain.utf8)) }

    /// The hash after `state` of the rule whose fragment (without hash) is `body`.
    static func nextHash(_ state: [UInt8], chain: String, body: [UInt8]) -> [UInt8] {
        var input: [UInt8] = []
        input.reserveCapacity(state.count + chain.utf8.count + body.count + 9)
        input += state
        input += "-A ".utf8
        input += chain.utf8
        input += " HASH ".utf8
        input += body
        return SHA2.sha224(input)
    }

    /// The 16 characters of a hash that the comment shows.
    static func shown(_ state: [UInt8]) -> String { String(Base64URL.encodeNoPadding(state).prefix(16)) }

    /// A rule's text without the hash comment: comments, criteria, action, space-separated.
    func appendBody(_ rule: ChainRule, family: IPAddress.Family, to out: inout [UInt8]) {
        var first = true
        func part(_ text: String) {
            if !first { out.append(UInt8(ascii: " ")) }
            first = false
            out += text.utf8
        }
        for comment in rule.comments { part("-m comment --comment \"\(sanitizedComment(comment))\"") }
        for criterion in rule.match { part(render(criterion, family: family)) }
        part(render(rule.action))
    }

    private func insertHashes(_ hook: KernelChainHooks, family: IPAddress.Family) -> [String] {
        hashes(hook.chain, hook.inserted, family: family)
    }

    /// Restore input under construction, as bytes.
    private struct Output {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(1 << 16) }

        var string: String { String(decoding: bytes, as: UTF8.self) }

        mutating func text(_ pieces: String...) {
            for p in pieces { bytes += p.utf8 }
        }

        mutating func line(_ pieces: String...) {
            for p in pieces { bytes += p.utf8 }
            bytes.append(UInt8(ascii: "\n"))
        }

        /// `-m comment --comment "cali:<hash>" <body>\n`
        mutating func hashedRule(_ state: [UInt8], _ body: [UInt8]) {
            bytes += IptablesRenderer.hashCommentStart
            bytes += IptablesRenderer.shown(state).utf8
            bytes += IptablesRenderer.hashCommentEnd
            bytes += body
            bytes.append(UInt8(ascii: "\n"))
        }

        /// `<verb><chain><suffix> <hashed rule>` for each rule, hashed in `hashChain`.
        mutating func hashedLines(
            _ verb: String, _ chain: String, _ suffix: String, hashChain: String, _ rules: [ChainRule],
            family: IPAddress.Family, renderer: IptablesRenderer
        ) {
            var state = IptablesRenderer.initialHash(hashChain)
            var body: [UInt8] = []
            for rule in rules {
                body.removeAll(keepingCapacity: true)
                renderer.appendBody(rule, family: family, to: &body)
                state = IptablesRenderer.nextHash(state, chain: hashChain, body: body)
                bytes += verb.utf8
                bytes += chain.utf8
                bytes += suffix.utf8
                bytes.append(UInt8(ascii: " "))
                hashedRule(state, body)
            }
        }

        mutating func appendLines(
            _ chain: String, _ rules: [ChainRule], family: IPAddress.Family, hashChain: String? = nil, renderer: IptablesRenderer
        ) {
            hashedLines("-A ", chain, "", hashChain: hashChain ?? chain, rules, family: family, renderer: renderer)
        }
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
        case .masquerade: "--jump MASQUERADE"
        case .snat(let address): "--jump SNAT --to-source \(address)"
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

/// The bytes Felix keeps in comments: `[A-Za-z0-9_ @%+=:,./-]`.
private let commentSafe: [Bool] = (0..<128).map { b in
    let c = UInt8(b)
    return (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || "_ @%+=:,./-".utf8.contains(c)
}

/// Felix's comment rule: characters outside `[A-Za-z0-9_ @%+=:,./-]` become `_` (one per
/// Unicode scalar); at most 256.
func sanitizedComment(_ text: String) -> String {
    if text.utf8.count <= 256, text.utf8.allSatisfy({ $0 < 128 && commentSafe[Int($0)] }) { return text }
    var out: [UInt8] = []
    for scalar in text.unicodeScalars {
        guard out.count < 256 else { break }
        let v = scalar.value
        out.append(v < 128 && commentSafe[Int(v)] ? UInt8(v) : UInt8(ascii: "_"))
    }
    return String(decoding: out, as: UTF8.self)
}
