public import CanalModel

/// The kind of an IP set (ipset's type names).
public enum IPSetType: String, Sendable, Hashable {
    /// Single addresses.
    case hashIP = "hash:ip"
    /// CIDRs: Felix's selector sets.
    case hashNet = "hash:net"
    /// (address, protocol, port): Felix's named-port and service sets.
    case hashIPPort = "hash:ip,port"
}

/// One member of an IP set.
public enum IPSetMember: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// An address (`hash:ip`).
    case address(IPAddress)
    /// A network (`hash:net`); a single address is a /32 or /128.
    case net(CIDR)
    /// An address with a protocol and port (`hash:ip,port`).
    case addressPort(IPAddress, IPProtocol, UInt16)

    /// The family of the member's address.
    public var family: IPAddress.Family {
        switch self {
        case .address(let ip), .addressPort(let ip, _, _): ip.family
        case .net(let cidr): cidr.family
        }
    }

    /// ipset's spelling: `10.0.0.1`, `10.0.0.0/16`, `10.0.0.1,tcp:5432`.
    public var description: String {
        switch self {
        case .address(let ip): ip.description
        case .net(let cidr): cidr.network.description
        case .addressPort(let ip, let proto, let port): "\(ip),\(proto.name):\(port)"
        }
    }

    /// Orders by family, then address, then the rest.
    public static func < (lhs: IPSetMember, rhs: IPSetMember) -> Bool {
        lhs.sortKey < rhs.sortKey
    }

    private var sortKey: SortKey {
        switch self {
        case .address(let ip): SortKey(ip: ip, prefix: ip.family.bitCount, proto: 0, port: 0)
        case .net(let c): SortKey(ip: c.network.address, prefix: c.prefixLength, proto: 0, port: 0)
        case .addressPort(let ip, let p, let port): SortKey(ip: ip, prefix: ip.family.bitCount, proto: Int(p.number), port: Int(port))
        }
    }

    private struct SortKey: Comparable {
        var ip: IPAddress
        var prefix: Int
        var proto: Int
        var port: Int
        static func < (a: SortKey, b: SortKey) -> Bool {
            if a.ip != b.ip { return a.ip < b.ip }
            return (a.prefix, a.proto, a.port) < (b.prefix, b.proto, b.port)
        }
    }
}

/// An IP set: its kernel name, type, family, size limit and members.
public struct IPSet: Sendable, Hashable {
    /// Felix's default `maxelem` (`MaxIpsetSize`).
    public static let defaultMaxSize = 1_048_576

    /// The kernel name (at most 31 characters; see ``IPSetName``).
    public var name: String
    /// The type.
    public var type: IPSetType
    /// The family: every member must have it.
    public var family: IPAddress.Family
    /// `maxelem`.
    public var maxSize: Int
    /// The members.
    public var members: Set<IPSetMember>

    /// An IP set.
    public init(
        name: String, type: IPSetType, family: IPAddress.Family, maxSize: Int = IPSet.defaultMaxSize,
        members: Set<IPSetMember> = []
    ) {
        self.name = name
        self.type = type
        self.family = family
        self.maxSize = maxSize
        self.members = members
    }

    /// The members in a stable order.
    public var sortedMembers: [IPSetMember] { members.sorted() }
}
