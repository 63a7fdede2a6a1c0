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
