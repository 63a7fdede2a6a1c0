public import CanalModel

/// A layer-4 protocol as a rule matches it: a named protocol or an IANA number.
public enum IPProtocol: Sendable, Hashable {
    case tcp, udp, sctp, icmp, icmpv6, udplite
    /// Any other protocol by number (`-p 4` for IP-in-IP).
    case number(UInt8)

    /// The IANA protocol number.
    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .icmp: 1
        case .icmpv6: 58
        case .udplite: 136
        case .number(let n): n
        }
    }

    /// The spelling iptables and nft accept: the lower-case name, or the number.
    public var name: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .sctp: "sctp"
        case .icmp: "icmp"
        case .icmpv6: "icmpv6"
        case .udplite: "udplite"
        case .number(let n): String(n)
        }
    }
}

/// One port or an inclusive range of ports.
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    /// The first port.
    public let first: UInt16
    /// The last port (equal to ``first`` for a single port).
    public let last: UInt16

    /// A single port.
    public init(_ port: UInt16) {
        first = port
        last = port
    }

    /// A range; nil when `first > last`.
    public init?(_ first: UInt16, _ last: UInt16) {
        guard first <= last else { return nil }
        self.first = first
        self.last = last
    }

    /// Multiport slots it occupies: 1 for a port, 2 for a range.
    public var slots: Int { first == last ? 1 : 2 }

    /// `80` or `6000:6010` (iptables spelling).
    public var description: String { first == last ? String(first) : "\(first):\(last)" }
}

/// A non-empty list of ports that fits one `-m multiport` match (at most 15 slots).
public struct PortList: Sendable, Hashable {
    /// The most slots one multiport match takes.
    public static let maxSlots = 15

    /// The ports, in the order given.
    public let ranges: [PortRange]

    /// A list; nil when empty or over ``maxSlots`` slots (use ``chunks(_:)``).
    public init?(_ ranges: [PortRange]) {
        guard !ranges.isEmpty, ranges.reduce(0, { $0 + $1.slots }) <= Self.maxSlots else { return nil }
        self.ranges = ranges
    }

    /// Cuts any list of ports into consecutive lists of at most 15 slots each, as Felix does
    /// before rendering (a positive list of more than one chunk needs an OR: a match block).
    public static func chunks(_ ranges: [PortRange]) -> [PortList] {
        var result: [PortList] = []
        var current: [PortRange] = []
        var used = 0
        for range in ranges {
            if used + range.slots > maxSlots {
                result.append(PortList(unchecked: current))
                current = []
                used = 0
            }
            current.append(range)
            used += range.slots
        }
        if !current.isEmpty { result.append(PortList(unchecked: current)) }
        return result
    }

    private init(unchecked ranges: [PortRange]) { self.ranges = ranges }
}

/// An interface name, or a prefix matched as a wildcard (`cali+` in iptables, `"cali*"` in nft).
public enum InterfaceMatch: Sendable, Hashable {
    case exact(String)
    case prefix(String)
}

/// Conntrack states (`-m conntrack --ctstate`); ``dnat`` and ``snat`` are the NAT statuses.
public struct ConntrackStates: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: UInt8
    /// Creates states from raw bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let new = ConntrackStates(rawValue: 1)
    public static let established = ConntrackStates(rawValue: 2)
    public static let related = ConntrackStates(rawValue: 4)
    public static let invalid = ConntrackStates(rawValue: 8)
    public static let untracked = ConntrackStates(rawValue: 16)
    public static let dnat = ConntrackStates(rawValue: 32)
    public static let snat = ConntrackStates(rawValue: 64)

    /// The states in iptables' order with their iptables names.
    static let ordered: [(ConntrackStates, String)] = [
        (.new, "NEW"), (.related, "RELATED"), (.established, "ESTABLISHED"), (.invalid, "INVALID"),
        (.untracked, "UNTRACKED"), (.snat, "SNAT"), (.dnat, "DNAT"),
    ]
}

/// One match criterion of a rule. A rule matches when all its criteria do.
///
/// `negated` turns a criterion into its `!` form. Criteria render in the order given, which the
/// compiler chooses (Felix's fragment order, so rule hashes are stable).
public enum MatchCriterion: Sendable, Hashable {
    /// `-p tcp` / `! -p tcp`.
    case ipProtocol(IPProtocol, negated: Bool = false)
    /// `--source 10.0.0.0/16`.
    case sourceNet(CIDR, negated: Bool = false)
    /// `--destination 10.0.0.0/16`.
    case destinationNet(CIDR, negated: Bool = false)
    /// Source address in a `hash:net` / `hash:ip` set (`--match-set S src`).
    case sourceIPSet(String, negated: Bool = false)
    /// Destination address in a `hash:net` / `hash:ip` set (`--match-set S dst`).
    case destinationIPSet(String, negated: Bool = false)
    /// Source (address, protocol, port) in a `hash:ip,port` set (`--match-set S src,src`).
    case sourceIPPortSet(String, negated: Bool = false)
    /// Destination (address, protocol, port) in a `hash:ip,port` set (`--match-set S dst,dst`).
    case destinationIPPortSet(String, negated: Bool = false)
    /// Source ports (`-m multiport --source-ports`); needs a protocol criterion before it.
    case sourcePorts(PortList, negated: Bool = false)
    /// Destination ports (`-m multiport --destination-ports`); needs a protocol criterion before it.
    case destinationPorts(PortList, negated: Bool = false)
    /// ICMP (or ICMPv6, by the rule set's family) type and optional code.
    case icmp(type: UInt8, code: UInt8? = nil, negated: Bool = false)
    /// Incoming interface.
    case inInterface(InterfaceMatch, negated: Bool = false)
    /// Outgoing interface.
    case outInterface(InterfaceMatch, negated: Bool = false)
    /// Conntrack state is one of `states`.
    case conntrack(ConntrackStates, negated: Bool = false)
    /// `mark & mask == value`.
    case mark(value: UInt32, mask: UInt32, negated: Bool = false)

    /// All the bits of `bits` are set.
    public static func markSet(_ bits: UInt32) -> MatchCriterion { .mark(value: bits, mask: bits) }
    /// None of the bits of `bits` is set.
    public static func markClear(_ bits: UInt32) -> MatchCriterion { .mark(value: 0, mask: bits) }

    /// The IP set this criterion refers to, if any.
    public var ipSetName: String? {
        switch self {
        case .sourceIPSet(let n, _), .destinationIPSet(let n, _), .sourceIPPortSet(let n, _),
            .destinationIPPortSet(let n, _):
            n
        default: nil
        }
    }

    /// The CIDR this criterion refers to, if any.
    var cidr: CIDR? {
        switch self {
        case .sourceNet(let c, _), .destinationNet(let c, _): c
        default: nil
        }
    }
}
