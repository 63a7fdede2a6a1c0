public import CanalModel

/// What a rule does when it matches.
public enum RuleAction: Sendable, Hashable {
    /// Accept the packet (ends this table's traversal for the hook).
    case accept
    /// Drop the packet.
    case drop
    /// Reject the packet with the kernel's default ICMP error.
    case reject
    /// Return to the calling chain.
    case `return`
    /// Call a chain; come back here when it returns.
    case jump(String)
    /// Continue in a chain; its RETURN goes to this chain's caller.
    case goto(String)
    /// Set the bits under `mask` to `value` (`--set-mark value/mask`); non-terminal.
    case setMark(value: UInt32, mask: UInt32)
    /// Log with a prefix; non-terminal.
    case log(prefix: String)
    /// Exempt the packet from connection tracking (raw table only); non-terminal.
    case notrack
    /// Rewrite the source to the outgoing interface's address (nat table, `POSTROUTING` only).
    case masquerade
    /// Rewrite the source to `address` (nat table, `POSTROUTING` only).
    case snat(IPAddress)

    /// Set all of `bits`.
    public static func setMarkBits(_ bits: UInt32) -> RuleAction { .setMark(value: bits, mask: bits) }
    /// Clear all of `bits`.
    public static func clearMark(_ bits: UInt32) -> RuleAction { .setMark(value: 0, mask: bits) }

    /// The chain it calls, if any.
    public var target: String? {
        switch self {
        case .jump(let c), .goto(let c): c
        default: nil
        }
    }
}

/// One rule: criteria (all must match), an action and free-text comments.
public struct ChainRule: Sendable, Hashable {
    /// The criteria, rendered in this order.
    public var match: [MatchCriterion]
    /// The action.
    public var action: RuleAction
    /// Comments (sanitised to `[\w @%+=:,./-]`, 256 characters each, when rendered).
    public var comments: [String]

    /// A rule.
    public init(_ match: [MatchCriterion] = [], _ action: RuleAction, comments: [String] = []) {
        self.match = match
        self.action = action
        self.comments = comments
    }
}

/// A chain the rule set owns outright (`cali-…`).
public struct Chain: Sendable, Hashable {
    /// The name (at most 28 characters for iptables, see ``ChainName``).
    public var name: String
    /// The rules, in order.
    public var rules: [ChainRule]

    /// A chain.
    public init(_ name: String, _ rules: [ChainRule] = []) {
        self.name = name
        self.rules = rules
    }
}

/// The rules the rule set adds to one of the kernel's own chains (`FORWARD`, `INPUT`, …):
/// inserted at its top and appended at its end, leaving everybody else's rules alone.
public struct KernelChainHooks: Sendable, Hashable {
    /// The kernel chain's name.
    public var chain: String
    /// Rules that go first, in this order.
    public var inserted: [ChainRule]
    /// Rules that go last, in this order.
    public var appended: [ChainRule]

    /// Hooks into `chain`.
    public init(chain: String, inserted: [ChainRule] = [], appended: [ChainRule] = []) {
        self.chain = chain
        self.inserted = inserted
        self.appended = appended
    }
}

/// The netfilter table a ``Table`` programs.
public enum TableName: String, Sendable, Hashable, CaseIterable {
    case filter, mangle, raw, nat

    /// The kernel's built-in chains of the table and, for nftables base chains, their hooks.
    var kernelChains: [(name: String, hook: String)] {
        switch self {
        case .filter: [("INPUT", "input"), ("FORWARD", "forward"), ("OUTPUT", "output")]
        case .mangle:
            [("PREROUTING", "prerouting"), ("INPUT", "input"), ("FORWARD", "forward"), ("OUTPUT", "output"),
             ("POSTROUTING", "postrouting")]
        case .raw: [("PREROUTING", "prerouting"), ("OUTPUT", "output")]
        case .nat: [("PREROUTING", "prerouting"), ("INPUT", "input"), ("OUTPUT", "output"), ("POSTROUTING", "postrouting")]
        }
    }

    /// The nftables type and priority of the table's base chain on `hook`.
    func nftBaseChain(hook: String) -> (type: String, priority: String) {
        switch self {
        case .filter: ("filter", "filter")
        case .mangle: ("filter", "mangle")
        case .raw: ("filter", "raw")
        case .nat:
            // The standard names exist only for the hooks they belong to (dstnat: prerouting,
            // srcnat: postrouting); output and input take iptables' nat priorities by number.
            switch hook {
            case "prerouting": ("nat", "dstnat")
            case "postrouting": ("nat", "srcnat")
            case "output": ("nat", "-100")
            default: ("nat", "100")
            }
        }
    }
}

/// One table's desired state: owned chains plus hooks into kernel chains.
public struct Table: Sendable, Hashable {
    /// Which table.
    public var name: TableName
    /// The owned chains, in rendering order; names are unique.
    public var chains: [Chain]
    /// Rules in kernel chains.
    public var hooks: [KernelChainHooks]

    /// A table.
    public init(_ name: TableName, chains: [Chain] = [], hooks: [KernelChainHooks] = []) {
        self.name = name
        self.chains = chains
        self.hooks = hooks
    }

    /// The chain named `name`.
    public func chain(named name: String) -> Chain? { chains.first { $0.name == name } }

    /// The index of the chain `name` in chains sorted by name, or where it would go.
    func sortedIndex(of name: String) -> (index: Int, found: Bool) {
        var low = 0, high = chains.count
        while low < high {
            let mid = (low + high) / 2
            if chains[mid].name < name { low = mid + 1 } else { high = mid }
        }
        return (low, low < chains.count && chains[low].name == name)
    }

    /// The chain `name` when chains are sorted by name.
    func sortedChain(named name: String) -> Chain? {
        let (i, found) = sortedIndex(of: name)
        return found ? chains[i] : nil
    }

    /// The table restricted to the chains reachable from its hooks (Felix only programs those:
    /// e.g. the egress chain of an ingress-only policy is rendered but never written).
    public func prunedToReachable() -> Table {
        // By position: the first chain of a name is the one followed (as a dictionary keeping
        // the first would), and every chain of a reachable name is kept.
        var first: [String: Int] = [:]
        first.reserveCapacity(chains.count)
        var canonical: [Int] = []
        canonical.reserveCapacity(chains.count)
        for i in chains.indices {
            let position = first[chains[i].name] ?? i
            if position == i { first[chains[i].name] = i }
            canonical.append(position)
        }
        var reachable = [Bool](repeating: false, count: chains.count)
        var stack: [Int] = []
        func visit(_ rules: [ChainRule]) {
            // Through the buffer: a `for rule in rules` copy retains every rule's arrays.
            rules.withUnsafeBufferPointer { buffer in
                for k in buffer.indices {
                    switch buffer[k].action {
                    case .jump(let target), .goto(let target):
                        guard let i = first[target], !reachable[i] else { continue }
                        reachable[i] = true
                        stack.append(i)
                    default: continue
                    }
                }
            }
        }
        for hook in hooks {
            visit(hook.inserted)
            visit(hook.appended)
        }
        while let i = stack.popLast() { visit(chains[i].rules) }
        var copy = self
        copy.chains = []
        copy.chains.reserveCapacity(chains.count)
        for i in chains.indices where reachable[canonical[i]] { copy.chains.append(chains[i]) }
        return copy
    }
}
