public import CanalModel

/// flannel's network configuration, the JSON at `<prefix>/config` (flannel `pkg/subnet/config.go`).
///
/// Keys are read case-insensitively, as Go's decoder does. ``validated()`` applies flannel's
/// defaults and rules (`CheckNetworkConfig`). Leases are IPv4 only: `IPv6Network` is read (canal-flanneld
/// writes its IPv6 forward rules from it) but no IPv6 subnets are leased.
public struct FlannelNetworkConfig: Sendable, Hashable {
    /// `Network`, the cluster's IPv4 network.
    public var network: CIDR?
    /// `SubnetLen`, the prefix length of each host's subnet (0: flannel's default).
    public var subnetLength: Int
    /// `SubnetMin`, the first subnet handed out (nil: the second subnet of the network).
    public var subnetMin: IPAddress?
    /// `SubnetMax`, the last subnet handed out (nil: the last subnet of the network).
    public var subnetMax: IPAddress?
    /// `Backend`, the backend object (with its `Type`), kept as read.
    public var backend: JSONValue?
    /// `EnableIPv4` (default true).
    public var enableIPv4: Bool
    /// `EnableIPv6` (default false; Canal does not lease IPv6 subnets).
    public var enableIPv6: Bool
    /// `IPv6Network`, the cluster's IPv6 network (used when ``enableIPv6``).
    public var ipv6Network: CIDR?
    /// `EnableNFTables` (default false): flanneld writes its rules with nftables instead of iptables.
    public var enableNFTables: Bool

    /// Creates a configuration.
    public init(
        network: CIDR?, subnetLength: Int = 0, subnetMin: IPAddress? = nil, subnetMax: IPAddress? = nil,
        backend: JSONValue? = nil, enableIPv4: Bool = true, enableIPv6: Bool = false, ipv6Network: CIDR? = nil,
        enableNFTables: Bool = false
    ) {
        self.network = network
        self.subnetLength = subnetLength
        self.subnetMin = subnetMin
        self.subnetMax = subnetMax
        self.backend = backend
        self.enableIPv4 = enableIPv4
        self.enableIPv6 = enableIPv6
        self.ipv6Network = ipv6Network
        self.enableNFTables = enableNFTables
    }

    /// The backend type: `Backend.Type`, or `udp` when no backend is given (flannel's code).
    public var backendType: String {
        backend?.objectValue?.first(where: { $0.key.lowercased() == "type" })?.value.stringValue ?? "udp"
    }

    /// Parses the config JSON.
    public init(json bytes: [UInt8]) throws(IPAMError) {
        guard let object = (try? JSONValue(parsing: bytes))?.objectValue else {
            throw IPAMError(.corruptData, "the flannel network config is not a JSON object")
        }
        func field(_ name: String) -> JSONValue? {
            object.first(where: { $0.key.lowercased() == name.lowercased() })?.value
        }
        func ip(_ name: String) throws(IPAMError) -> IPAddress? {
            guard let value = field(name), !value.isNull else { return nil }
            guard let text = value.stringValue, let ip = IPAddress(text), ip.family == .v4 else {
                throw IPAMError(.invalidArgument, "\(name) is not an IPv4 address")
            }
            return ip
        }
        var network: CIDR?
        if let value = field("Network"), !value.isNull {
            guard let text = value.stringValue, let cidr = CIDR(text), cidr.family == .v4 else {
                throw IPAMError(.invalidArgument, "Network is not an IPv4 CIDR")
            }
            network = cidr
        }
        var ipv6Network: CIDR?
        if let value = field("IPv6Network"), !value.isNull {
            guard let text = value.stringValue, let cidr = CIDR(text), cidr.family == .v6 else {
                throw IPAMError(.invalidArgument, "IPv6Network is not an IPv6 CIDR")
            }
            ipv6Network = cidr
        }
        var length = 0
        if let value = field("SubnetLen"), !value.isNull {
            guard let n = value.intValue else { throw IPAMError(.invalidArgument, "SubnetLen is not a number") }
            length = n
        }
        self.init(
            network: network, subnetLength: length, subnetMin: try ip("SubnetMin"), subnetMax: try ip("SubnetMax"),
            backend: field("Backend"), enableIPv4: field("EnableIPv4")?.boolValue ?? true,
            enableIPv6: field("EnableIPv6")?.boolValue ?? false, ipv6Network: ipv6Network,
            enableNFTables: field("EnableNFTables")?.boolValue ?? false)
    }

    /// The JSON as an operator writes it: only what is set, in flannel's field names.
    public var jsonBytes: [UInt8] {
        var object = JSONObject()
        if !enableIPv4 { object["EnableIPv4"] = .bool(false) }
        if enableIPv6 { object["EnableIPv6"] = .bool(true) }
        if enableNFTables { object["EnableNFTables"] = .bool(true) }
        if let network { object["Network"] = .string(network.description) }
        if let ipv6Network { object["IPv6Network"] = .string(ipv6Network.description) }
        if subnetLength != 0 { object["SubnetLen"] = .number(String(subnetLength)) }
        if let subnetMin { object["SubnetMin"] = .string(subnetMin.description) }
        if let subnetMax { object["SubnetMax"] = .string(subnetMax.description) }
        if let backend { object["Backend"] = backend }
        return Array(JSONValue.object(object).jsonText.utf8)
    }

    /// The configuration with flannel's defaults filled in, or `invalidArgument` naming the broken rule:
    /// - `SubnetLen`: 24 for a network of /22 or wider, prefix + 2 for /23–/28; a longer network is an
    ///   error; an explicit value must be at most 30 and at least prefix + 2.
    /// - `SubnetMin`: the second subnet (the first is never used); `SubnetMax`: the last subnet; both
    ///   inside the network and aligned to `SubnetLen`.
    /// - `IPv6Network`: required when `EnableIPv6` (no IPv6 subnet rules: Canal leases no IPv6 subnets).
    public func validated() throws(IPAMError) -> FlannelNetworkConfig {
        guard enableIPv4 else { throw IPAMError(.invalidArgument, "Canal's flannel leases need EnableIPv4") }
        guard let network, network.family == .v4 else { throw IPAMError(.invalidArgument, "please define a correct Network parameter in the flannel config") }
        let net = network.network
        var out = self
        out.network = net
        if enableIPv6 {
            guard let v6 = ipv6Network, v6.family == .v6 else {
                throw IPAMError(.invalidArgument, "please define a correct IPv6Network parameter in the flannel config")
            }
            out.ipv6Network = v6.network
        }
        let p = net.prefixLength
        if subnetLength == 0 {
            if p < 23 {
                out.subnetLength = 24
            } else if p <= 28 {
                out.subnetLength = p + 2
            } else {
                throw IPAMError(.invalidArgument, "Network is too small. Minimum useful network prefix is /28")
            }
        } else {
            if subnetLength > 30 { throw IPAMError(.invalidArgument, "SubnetLen must be less than /31") }
            if subnetLength < p + 2 { throw IPAMError(.invalidArgument, "Network must be able to accommodate at least four subnets") }
        }
        let step = UInt128(1) << UInt128(32 - out.subnetLength)
        let hostMask = step - 1
        let first = IPAddress(family: .v4, value: net.address.value + step)
        let last = IPAddress(family: .v4, value: net.lastAddress.value & ~hostMask)
        let min = subnetMin ?? first
        let max = subnetMax ?? last
        guard net.contains(min) else { throw IPAMError(.invalidArgument, "SubnetMin is not in the range of the Network") }
        guard min.value & hostMask == 0 else { throw IPAMError(.invalidArgument, "SubnetMin is not on a SubnetLen boundary") }
        guard net.contains(max) else { throw IPAMError(.invalidArgument, "SubnetMax is not in the range of the Network") }
        guard max.value & hostMask == 0 else { throw IPAMError(.invalidArgument, "SubnetMax is not on a SubnetLen boundary") }
        out.subnetMin = min
        out.subnetMax = max
        return out
    }

    /// The subnets leases come from, SubnetMin to SubnetMax in order (after ``validated()``).
    func candidateSubnets() -> [CIDR] {
        guard let min = subnetMin, let max = subnetMax, subnetLength > 0 else { return [] }
        let step = UInt128(1) << UInt128(32 - subnetLength)
        var out: [CIDR] = []
        var v = min.value
        while v <= max.value {
            out.append(CIDR(address: IPAddress(family: .v4, value: v), prefixLength: subnetLength)!)
            v += step
        }
        return out
    }
}
