import CanalDatastore
public import CanalModel

/// Calico's IPAM keys in etcd (libcalico-go `model/block.go`, `block_affinity.go`, `ipam_handle.go`,
/// `ipam_config.go`).
public enum IPAMKeys {
    /// `/calico/ipam/v2/config`.
    public static let config = "/calico/ipam/v2/config"

    /// `/calico/ipam/v2/assignment/ipv4/block/` (or `ipv6`): the prefix of every block of a family.
    public static func blockPrefix(_ family: IPAddress.Family) -> String {
        "/calico/ipam/v2/assignment/ipv\(family.rawValue)/block/"
    }

    /// `/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26`: a block, its CIDR masked with the first `/` as `-`.
    public static func block(_ cidr: CIDR) -> String {
        blockPrefix(cidr.family) + cidrSegment(cidr)
    }

    /// `/calico/ipam/v2/host/<host>/ipv4/block/`: the prefix of a host's affinities in one family.
    public static func affinityPrefix(host: String, family: IPAddress.Family) -> String {
        "/calico/ipam/v2/host/\(host)/ipv\(family.rawValue)/block/"
    }

    /// `/calico/ipam/v2/host/`: the prefix of every host affinity.
    public static let hostAffinityRoot = "/calico/ipam/v2/host/"

    /// `/calico/ipam/v2/host/<host>/ipv4/block/10.0.0.0-26`: a host's affinity to a block.
    public static func affinity(host: String, cidr: CIDR) -> String {
        affinityPrefix(host: host, family: cidr.family) + cidrSegment(cidr)
    }

    /// `/calico/ipam/v2/handle/`: the prefix of every handle.
    public static let handlePrefix = "/calico/ipam/v2/handle/"

    /// `/calico/ipam/v2/handle/<id>`.
    public static func handle(_ id: String) -> String { handlePrefix + id }

    /// `10.0.0.0-26` for `10.0.0.0/26` (masked).
    public static func cidrSegment(_ cidr: CIDR) -> String {
        let net = cidr.network
        return "\(net.address)-\(net.prefixLength)"
    }

    /// Parses the last segment of a block or affinity key (`10.0.0.0-26`, `fd00::-122`).
    public static func parseCIDRSegment(_ segment: some StringProtocol) -> CIDR? {
        guard let dash = segment.lastIndex(of: "-") else { return nil }
        return CIDR("\(segment[..<dash])/\(segment[segment.index(after: dash)...])")?.network
    }

    /// The host and block of an affinity key, or nil when `key` is not one.
    public static func parseAffinity(_ key: String) -> (host: String, cidr: CIDR)? {
        guard key.hasPrefix(hostAffinityRoot) else { return nil }
        let parts = key.dropFirst(hostAffinityRoot.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[1] == "ipv4" || parts[1] == "ipv6", parts[2] == "block",
              let cidr = parseCIDRSegment(parts[3])
        else { return nil }
        return (String(parts[0]), cidr)
    }
}

extension IPAMKeys {
    static let blockRoot = Array("/calico/ipam/v2/assignment/ipv".utf8)

    /// The block of a block key, or nil when `key` is not one.
    static func blockCIDR(_ key: [UInt8]) -> CIDR? {
        guard key.starts(with: blockRoot) else { return nil }
        let text = String(decoding: key, as: UTF8.self)
        let parts = text.dropFirst(blockRoot.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "4" || parts[0] == "6", parts[1] == "block" else { return nil }
        return parseCIDRSegment(parts[2])
    }
}

/// A datastore key as a dictionary key, hashed eight bytes at a time (an `[UInt8]` key is hashed
/// a byte at a time): the store's key type.
typealias ByteKey = StoreKey

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
