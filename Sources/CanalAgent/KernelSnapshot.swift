import CanalModel
import CanalPolicy
import Foundation

/// What `iptables-save` shows of one table, as far as the agent cares: every chain with the
/// Felix rule hash (`cali:<hash>` comment) of each rule, and the full text of the rules of the
/// kernel's own chains (to delete Canal's hooks by value).
struct IptablesTableSnapshot: Sendable, Hashable {
    /// One rule of a chain: its `cali:` hash (nil for rules without one) and its text after `-A <chain> `.
    struct Rule: Sendable, Hashable {
        var hash: String?
        var text: String
        /// Whether the rule is Canal's: it carries a hash or jumps/goes to a `cali-` chain.
        var isOwned: Bool {
            hash != nil || text.contains("-j cali-") || text.contains("-g cali-")
                || text.contains("--jump cali-") || text.contains("--goto cali-")
        }
    }

    /// Chains in listing order, built-in (with a policy) or user-defined.
    var chainOrder: [String] = []
    /// Built-in chain names.
    var builtIn: Set<String> = []
    /// Rules per chain.
    var rules: [String: [Rule]] = [:]

    /// The Canal-owned chains (`cali-…`).
    var ownedChains: [String] { chainOrder.filter(IptablesSnapshot.isOwnedChain) }
}

/// `iptables-save` output of one family, by table.
struct IptablesSnapshot: Sendable, Hashable {
    var tables: [String: IptablesTableSnapshot] = [:]

    static func isOwnedChain(_ name: String) -> Bool { name.hasPrefix("cali-") }

    /// Parses `iptables-save` output.
    init(parsing text: String) {
        var current: String?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = Substring(rawLine)
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("*") {
                current = String(line.dropFirst())
                tables[current!] = IptablesTableSnapshot()
            } else if line == "COMMIT" {
                current = nil
            } else if let table = current, line.hasPrefix(":") {
                let fields = line.dropFirst().split(separator: " ")
                guard let name = fields.first.map(String.init) else { continue }
                tables[table]!.chainOrder.append(name)
                tables[table]!.rules[name] = []
                if fields.count > 1, fields[1] != "-" { tables[table]!.builtIn.insert(name) }
            } else if let table = current, line.hasPrefix("-A ") {
                let rest = line.dropFirst(3)
                guard let space = rest.firstIndex(of: " ") else { continue }
                let chain = String(rest[..<space])
                let body = String(rest[rest.index(after: space)...])
                tables[table]!.rules[chain, default: []].append(.init(hash: Self.hash(in: body), text: body))
            }
        }
    }

    init() {}

    /// The `cali:<hash>` in a rule's comment, if any.
    static func hash(in text: String) -> String? {
        for marker in ["--comment \"cali:", "--comment cali:"] {
            guard let range = text.range(of: marker) else { continue }
            let hash = text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
            return hash.isEmpty ? nil : String(hash)
        }
        return nil
    }
}

/// Canal's IP sets as `ipset save` shows them (every set named `cali4…`/`cali6…`).
struct IPSetSnapshot: Sendable, Hashable {
    struct Set: Sendable, Hashable {
        var type: String
        var family: String
        var maxSize: Int?
        var members: Swift.Set<String>
    }

    var sets: [String: Set] = [:]

    static func isOwned(_ name: String) -> Bool { name.hasPrefix("cali4") || name.hasPrefix("cali6") }

    init() {}

    /// Parses `ipset save` output, keeping Canal's sets.
    init(parsing text: String) {
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = rawLine.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 3, Self.isOwned(fields[1]) else { continue }
            if fields[0] == "create" {
                var family = "inet", maxSize: Int?
                var i = 3
                while i + 1 < fields.count {
                    if fields[i] == "family" { family = fields[i + 1] }
                    if fields[i] == "maxelem" { maxSize = Int(fields[i + 1]) }
                    i += 1
                }
                sets[fields[1]] = Set(type: fields[2], family: family, maxSize: maxSize, members: [])
            } else if fields[0] == "add" {
                sets[fields[1], default: Set(type: "", family: "", maxSize: nil, members: [])].members
                    .insert(Self.normalized(fields[2]))
            }
        }
    }

    /// A member as ipset prints it: host networks without their prefix length.
    static func normalized(_ member: String) -> String {
        if member.hasSuffix("/32"), !member.contains(":") { return String(member.dropLast(3)) }
        if member.hasSuffix("/128"), member.contains(":") { return String(member.dropLast(4)) }
        return member
    }
}

extension IptablesSnapshot {
    /// The snapshot after `iptables-restore --noflush` ran `input` (the planner's own lines:
    /// table headers, chain declarations, `-A`, `-I <chain> 1`, `-D <chain> <rule>`, `-X`), so the
    /// agent can follow what it wrote without reading the kernel back after every write.
    func applying(_ input: String) -> IptablesSnapshot {
        var result = self
        result.apply(input)
        return result
    }

    /// Applies `input` (as ``applying(_:)``) in place: when this snapshot is the only copy, only
    /// the chains the input names are touched, whatever the table's size.
    mutating func apply(_ input: String) {
        var name = ""
        // The table being changed is taken out of the dictionary so that it is mutated in place.
        var t = IptablesTableSnapshot()
        func rule(_ text: String) -> IptablesTableSnapshot.Rule { .init(hash: Self.hash(in: text), text: text) }
        for line in input.split(separator: "\n").map(String.init) {
            if line.hasPrefix("*") {
                name = String(line.dropFirst())
                t = tables.removeValue(forKey: name) ?? IptablesTableSnapshot()
                continue
            }
            if line == "COMMIT" {
                tables[name] = t
                t = IptablesTableSnapshot()
                continue
            }
            if line.hasPrefix(":") {
                let chain = String(line.dropFirst().split(separator: " ")[0])
                if t.rules[chain] == nil { t.chainOrder.append(chain) }
                t.rules[chain] = []
                continue
            }
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard words.count >= 2 else { continue }
            let chain = words[1]
            switch words[0] {
            case "-X":
                t.rules[chain] = nil
                t.chainOrder.removeAll { $0 == chain }
            case "-A" where words.count == 3:
                if t.rules[chain] == nil { t.chainOrder.append(chain) }
                t.rules[chain, default: []].append(rule(words[2]))
            case "-I" where words.count == 3:
                t.rules[chain, default: []].insert(rule(String(words[2].dropFirst(2))), at: 0)
            case "-D" where words.count == 3:
                let wanted = rule(words[2])
                // Deleted by value: the kernel matches the rule, whatever its spelling; ours carry a hash.
                if let index = t.rules[chain]?.firstIndex(where: { $0.text == wanted.text || ($0.hash != nil && $0.hash == wanted.hash) }) {
                    t.rules[chain]!.remove(at: index)
                }
            default:
                break
            }
        }
        if !name.isEmpty, tables[name] == nil { tables[name] = t }  // input without a final COMMIT
    }
}

extension IPSetSnapshot {
    /// Canal's sets as they are once `sets` are programmed.
    init(_ sets: [IPSet]) {
        self.init()
        for set in sets { self.sets[set.name] = Self.entry(set) }
    }

    /// How `ipset save` shows `set` once programmed.
    static func entry(_ set: IPSet) -> Set {
        Set(type: set.type.rawValue, family: set.family == .v4 ? "inet" : "inet6", maxSize: set.maxSize,
            members: Swift.Set(set.members.map { Self.normalized($0.description) }))
    }
}
