public import CanalModel

/// The host's flannel lease as flannel's CNI plugin reads `subnet.env`: `KEY=VALUE` lines split at
/// the first `=`, unknown keys ignored.
///
/// IPv4 (`FLANNEL_NETWORK`, `FLANNEL_SUBNET`), IPv6 (`FLANNEL_IPV6_NETWORK`, `FLANNEL_IPV6_SUBNET`)
/// or both; the networks may list several CIDRs separated by commas (flanneld writes one per
/// configured network).
public struct FlannelSubnetFile: Sendable, Hashable {
    /// `FLANNEL_NETWORK`: the cluster's IPv4 networks.
    public var networks: [CIDR]
    /// `FLANNEL_SUBNET`: this host's IPv4 subnet (masked: `10.1.17.1/24` reads as `10.1.17.0/24`).
    public var subnet: CIDR?
    /// `FLANNEL_IPV6_NETWORK`: the cluster's IPv6 networks.
    public var ipv6Networks: [CIDR]
    /// `FLANNEL_IPV6_SUBNET`: this host's IPv6 subnet (masked).
    public var ipv6Subnet: CIDR?
    /// `FLANNEL_MTU`.
    public var mtu: Int
    /// `FLANNEL_IPMASQ`: whether flanneld masquerades the pods' traffic itself.
    public var ipMasquerade: Bool

    /// Parses the file's text; `path` only names the file in errors.
    ///
    /// - Throws: ``CNIError`` 7 naming a value that does not parse, or the keys that are missing
    ///   (a network and a subnet of at least one family, `FLANNEL_MTU`, `FLANNEL_IPMASQ`).
    public init(text: String, path: String) throws(CNIError) {
        var networks: [CIDR] = [], ipv6Networks: [CIDR] = []
        var subnet: CIDR?, ipv6Subnet: CIDR?, mtu: Int?, ipMasquerade: Bool?
        func bad(_ key: String, _ value: Substring, _ expected: String) -> CNIError {
            .invalidConfig("invalid \(key) in \(path)", details: "\"\(value)\": expected \(expected)")
        }
        func cidrs(_ key: String, _ value: Substring, _ family: IPAddress.Family) throws(CNIError) -> [CIDR] {
            var out: [CIDR] = []
            for part in value.split(separator: ",") {
                guard let c = CIDR(part.trimmingSpaces), c.family == family else { throw bad(key, value, "\(family) CIDRs") }
                out.append(c.network)
            }
            return out
        }
        func one(_ key: String, _ value: Substring, _ family: IPAddress.Family) throws(CNIError) -> CIDR {
            guard let c = CIDR(value.trimmingSpaces), c.family == family else { throw bad(key, value, "an \(family) CIDR") }
            return c.network
        }
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]), value = line[line.index(after: eq)...]
            switch key {
            case "FLANNEL_NETWORK": networks = try cidrs(key, value, .v4)
            case "FLANNEL_SUBNET": subnet = try one(key, value, .v4)
            case "FLANNEL_IPV6_NETWORK": ipv6Networks = try cidrs(key, value, .v6)
            case "FLANNEL_IPV6_SUBNET": ipv6Subnet = try one(key, value, .v6)
            case "FLANNEL_MTU":
                guard let n = Int(value.trimmingSpaces), n > 0, n <= 65535 else { throw bad(key, value, "an MTU") }
                mtu = n
            case "FLANNEL_IPMASQ": ipMasquerade = value.trimmingSpaces == "true"
            default: continue
            }
        }
        var missing: [String] = []
        if networks.isEmpty && ipv6Networks.isEmpty { missing += ["FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK"] }
        if subnet == nil && ipv6Subnet == nil { missing += ["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"] }
        if mtu == nil { missing.append("FLANNEL_MTU") }
        if ipMasquerade == nil { missing.append("FLANNEL_IPMASQ") }
        guard missing.isEmpty, let mtu, let ipMasquerade else {
            throw .invalidConfig("\(path) is missing \(missing.joined(separator: ", "))", details: "flanneld writes it when it holds a lease")
        }
        self.networks = networks
        self.subnet = subnet
        self.ipv6Networks = ipv6Networks
        self.ipv6Subnet = ipv6Subnet
        self.mtu = mtu
        self.ipMasquerade = ipMasquerade
    }
}

/// The network config of flannel's CNI plugin (`type: flannel`, here `canal-flannel`), and the
/// delegate config it builds from it and the host's ``FlannelSubnetFile``.
public struct FlannelNetConf: Sendable, Hashable {
    /// flannel's default `subnetFile`.
    public static let defaultSubnetFile = "/run/flannel/subnet.env"
    /// flannel's default `dataDir`, where each container's delegate config is kept for DEL.
    public static let defaultDataDirectory = "/var/lib/cni/flannel"
    /// The delegate type when `delegate.type` is absent: Canal's plugin (flannel's is `bridge`).
    public static let defaultDelegateType = "canal-cni"

    /// `cniVersion` as written.
    public var cniVersion: String
    /// `name`.
    public var name: String
    /// `subnetFile`.
    public var subnetFile: String
    /// `dataDir`.
    public var dataDirectory: String
    /// `delegate`: passed on to the delegate plugin (no `name`, no `ipam`: flannel sets them).
    public var delegate: JSONObject
    /// `ipam`: the start of the delegate's IPAM block (for example host-local's `dataDir`).
    public var ipam: JSONObject
    /// `runtimeConfig`, passed on to the delegate.
    public var runtimeConfig: JSONObject?
    /// `prevResult`, for CHECK.
    public var prevResult: JSONValue?

    /// Parses the config.
    ///
    /// - Throws: ``CNIError`` 6 when it is not a JSON object or a field has the wrong JSON type;
    ///   1 for an unsupported `cniVersion`; 7 for a missing `name` or a `delegate` holding `name` or `ipam`.
    public init(json bytes: [UInt8]) throws(CNIError) {
        let root: JSONValue
        do {
            root = try JSONValue(parsing: bytes)
        } catch {
            throw .decode("error parsing the network configuration", details: error.message)
        }
        guard case .object(let object) = root else {
            throw .decode("error parsing the network configuration", details: "expected a JSON object, found \(root.typeName)")
        }
        var reader = FieldReader(object: object, path: "")
        cniVersion = try reader.string("cniVersion")
        guard let version = CNIVersion(cniVersion), version.isSupported else {
            throw .incompatibleVersion("incompatible CNI versions", details: "config is \"\(cniVersion)\", plugin supports \(CNIVersion.supported.map(\.description))")
        }
        name = try reader.string("name")
        let subnetFile = try reader.string("subnetFile")
        self.subnetFile = subnetFile.isEmpty ? Self.defaultSubnetFile : subnetFile
        let dataDirectory = try reader.string("dataDir")
        self.dataDirectory = dataDirectory.isEmpty ? Self.defaultDataDirectory : dataDirectory
        delegate = try reader.object("delegate") ?? JSONObject()
        ipam = try reader.object("ipam") ?? JSONObject()
        runtimeConfig = try reader.object("runtimeConfig")
        prevResult = object["prevResult"]
        if name.isEmpty { throw .invalidConfig("invalid network configuration", details: "name is required") }
        if let type = delegate["type"], type.stringValue?.isEmpty != false {
            throw .decode("error parsing the network configuration", details: "delegate.type: expected a plugin name, found \(type.typeName)")
        }
        if delegate["name"] != nil {
            throw .invalidConfig("invalid delegate", details: "'delegate' must not have a 'name' field: flannel sets it")
        }
        if delegate["ipam"] != nil {
            throw .invalidConfig("invalid delegate", details: "'delegate' must not have an 'ipam' field: flannel sets it")
        }
        if let type = delegate["type"]?.stringValue, type.contains("/") {
            throw .invalidConfig("invalid delegate.type \"\(type)\"", details: "a plugin name, not a path")
        }
        if case .array(let routes)? = ipam["routes"] {
            for (i, route) in routes.enumerated() where route["dst"]?.stringValue.flatMap({ CIDR($0) }) == nil {
                throw .invalidConfig("invalid ipam.routes[\(i)]", details: "expected {\"dst\": \"<CIDR>\"}")
            }
        } else if let routes = ipam["routes"], routes != .null {
            throw .decode("error parsing the network configuration", details: "ipam.routes: expected an array, found \(routes.typeName)")
        }
    }

    /// The delegate's type (`delegate.type`, else ``defaultDelegateType``).
    public var delegateType: String { delegate["type"]?.stringValue ?? Self.defaultDelegateType }

    /// The delegate config flannel's plugin builds for ADD: `delegate` with `name`, `type`,
    /// `ipMasq` (when absent: the opposite of `FLANNEL_IPMASQ`), `mtu` (when absent:
    /// `FLANNEL_MTU`), `isGateway: true` for a bridge, `cniVersion`, `runtimeConfig`, and an `ipam`
    /// block (default type `host-local`) with one range per family over the host's subnets and a
    /// route to each flannel network after the `ipam.routes` given.
    public func delegateConfig(subnets env: FlannelSubnetFile) -> JSONObject {
        var d = delegate
        d["name"] = .string(name)
        d["type"] = .string(delegateType)
        if d["ipMasq"] == nil { d["ipMasq"] = .bool(!env.ipMasquerade) }
        if d["mtu"] == nil { d["mtu"] = .number(String(env.mtu)) }
        if delegateType == "bridge", d["isGateway"] == nil { d["isGateway"] = .bool(true) }
        if !cniVersion.isEmpty { d["cniVersion"] = .string(cniVersion) }
        if let runtimeConfig { d["runtimeConfig"] = .object(runtimeConfig) }
        var i = ipam
        if i["type"] == nil { i["type"] = .string("host-local") }
        var ranges: [JSONValue] = []
        for subnet in [env.subnet, env.ipv6Subnet].compactMap({ $0 }) {
            ranges.append(.array([.object(JSONObject([("subnet", .string(subnet.description))]))]))
        }
        i["ranges"] = .array(ranges)
        var routes: [JSONValue] = []
        if case .array(let given)? = ipam["routes"] { routes = given }
        for network in env.networks + env.ipv6Networks {
            routes.append(.object(JSONObject([("dst", .string(network.description))])))
        }
        i["routes"] = .array(routes)
        d["ipam"] = .object(i)
        return d
    }
}

extension StringProtocol {
    /// The text without leading and trailing blanks.
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}
