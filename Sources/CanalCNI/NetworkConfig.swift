public import CanalModel

/// A network configuration as Calico's CNI plugin reads it (`cni-plugin/pkg/types NetConf`), from
/// the JSON on stdin. Unknown fields are ignored, as the Go plugin ignores them.
public struct NetworkConfig: Sendable, Hashable {
    /// `cniVersion` as written (empty when absent).
    public var cniVersion: String
    /// The parsed version (an empty `cniVersion` reads as 0.2.0).
    public var version: CNIVersion
    /// `name`: the network's name; names the IPAM handle and, without k8s policy, the profile.
    public var name: String
    /// `type`: the plugin's name.
    public var type: String
    /// `etcd_endpoints`, comma-separated; empty means the datastore environment.
    public var etcdEndpoints: String
    /// `etcd_key_file`, `etcd_cert_file`, `etcd_ca_cert_file`.
    public var etcdKeyFile: String, etcdCertFile: String, etcdCACertFile: String
    /// `etcd_username`, `etcd_password`.
    public var etcdUsername: String, etcdPassword: String
    /// `datastore_type` (`etcdv3`, `memory`, or empty).
    public var datastoreType: String
    /// `nodename` (or the deprecated `hostname`).
    public var nodename: String
    /// `nodename_file` (default `/var/lib/calico/nodename`).
    public var nodenameFile: String
    /// `nodename_file_optional`: when false, ADD and DEL fail until the nodename file exists.
    public var nodenameFileOptional: Bool
    /// `mtu`; 0 means `/var/lib/calico/mtu` when it exists, else 1500.
    public var mtu: Int
    /// `ipam`: the whole object (passed on to a delegate IPAM plugin as part of the config).
    public var ipam: JSONObject
    /// `ipam.type`.
    public var ipamType: String
    /// `ipam.assign_ipv4` (default true) and `ipam.assign_ipv6` (default false).
    public var assignIPv4: Bool, assignIPv6: Bool
    /// `ipam.ipv4_pools`, `ipam.ipv6_pools`: pool CIDRs to assign from (canal-ipam).
    public var ipv4Pools: [CIDR], ipv6Pools: [CIDR]
    /// `ipam.routes[].dst`: under k8s, the only routes programmed in the container (unless
    /// ``includeDefaultRoutes``).
    public var ipamRoutes: [CIDR]
    /// `include_default_routes`.
    public var includeDefaultRoutes: Bool
    /// `policy.type` (`k8s` or empty).
    public var policyType: String
    /// `container_settings.allow_ip_forwarding`.
    public var allowIPForwarding: Bool
    /// `log_level` (default `info`) and `log_file_path` (empty: standard error only).
    public var logLevel: String, logFilePath: String
    /// `prevResult`, when the runtime passed one (CHECK, and DEL from 0.4.0).
    public var prevResult: JSONValue?

    /// The IPAM type that selects Calico block IPAM in the datastore rather than a delegate plugin.
    public static let canalIPAMType = "canal-ipam"

    /// Parses and checks the config.
    ///
    /// - Throws: ``CNIError`` 6 when the text is not a JSON object or a field has the wrong JSON
    ///   type; 1 for an unsupported `cniVersion`; 2 for a field Canal does not support
    ///   (`datastore_type: kubernetes`, `feature_control`); 7 for a missing `name`, `type` or
    ///   `ipam.type`, a bad pool, route or MTU.
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
        guard let version = CNIVersion(cniVersion) else {
            throw .incompatibleVersion("incompatible CNI versions", details: "config is \"\(cniVersion)\", plugin supports \(CNIVersion.supported.map(\.description))")
        }
        guard version.isSupported else {
            throw .incompatibleVersion("incompatible CNI versions", details: "config is \"\(cniVersion)\", plugin supports \(CNIVersion.supported.map(\.description))")
        }
        self.version = version
        name = try reader.string("name")
        type = try reader.string("type")
        etcdEndpoints = try reader.string("etcd_endpoints")
        etcdKeyFile = try reader.string("etcd_key_file")
        etcdCertFile = try reader.string("etcd_cert_file")
        etcdCACertFile = try reader.string("etcd_ca_cert_file")
        etcdUsername = try reader.string("etcd_username")
        etcdPassword = try reader.string("etcd_password")
        datastoreType = try reader.string("datastore_type")
        let hostname = try reader.string("hostname")
        let nodename = try reader.string("nodename")
        self.nodename = nodename.isEmpty ? hostname : nodename
        let file = try reader.string("nodename_file")
        nodenameFile = file.isEmpty ? "/var/lib/calico/nodename" : file
        nodenameFileOptional = try reader.bool("nodename_file_optional") ?? true
        mtu = try reader.int("mtu") ?? 0
        includeDefaultRoutes = try reader.bool("include_default_routes") ?? false
        logLevel = try reader.string("log_level")
        logFilePath = try reader.string("log_file_path")
        policyType = try reader.object("policy").map { o throws(CNIError) in
            var r = FieldReader(object: o, path: "policy.")
            return try r.string("type")
        } ?? ""
        allowIPForwarding = try reader.object("container_settings").map { o throws(CNIError) in
            var r = FieldReader(object: o, path: "container_settings.")
            return try r.bool("allow_ip_forwarding") ?? false
        } ?? false
        prevResult = object["prevResult"]

        ipam = try reader.object("ipam") ?? JSONObject()
        var ipamReader = FieldReader(object: ipam, path: "ipam.")
        ipamType = try ipamReader.string("type")
        assignIPv4 = try ipamReader.boolString("assign_ipv4") ?? true
        assignIPv6 = try ipamReader.boolString("assign_ipv6") ?? false
        ipv4Pools = try ipamReader.cidrs("ipv4_pools")
        ipv6Pools = try ipamReader.cidrs("ipv6_pools")
        ipamRoutes = []
        if case .array(let routes)? = ipam["routes"] {
            for (i, route) in routes.enumerated() {
                guard let dst = route["dst"]?.stringValue, let cidr = CIDR(dst) else {
                    throw .invalidConfig("invalid ipam.routes[\(i)]", details: "expected {\"dst\": \"<CIDR>\"}")
                }
                ipamRoutes.append(cidr.network)
            }
        } else if let routes = ipam["routes"], routes != .null {
            throw .decode("error parsing the network configuration", details: "ipam.routes: expected an array, found \(routes.typeName)")
        }

        if case .object(let features)? = object["feature_control"] {
            for (key, value) in features where value == .bool(true) {
                throw .unsupportedField("unsupported field feature_control.\(key)", details: "canal-cni supports neither ip_addrs_no_ipam nor floating_ips")
            }
        }
        switch datastoreType.lowercased() {
        case "", "etcdv3", "memory": break
        default:
            throw .unsupportedField("unsupported datastore_type \"\(datastoreType)\"", details: "use etcdv3 (etcd_endpoints) or memory")
        }
        if name.isEmpty { throw .invalidConfig("invalid network configuration", details: "name is required") }
        if type.isEmpty { throw .invalidConfig("invalid network configuration", details: "type is required") }
        if ipamType.isEmpty { throw .invalidConfig("invalid network configuration", details: "ipam.type is required") }
        if ipamType.contains("/") { throw .invalidConfig("invalid ipam.type \"\(ipamType)\"", details: "a plugin name, not a path") }
        if mtu < 0 || mtu > 65535 { throw .invalidConfig("invalid mtu \(mtu)", details: "0-65535") }
        if !assignIPv4 && !assignIPv6 { throw .invalidConfig("invalid ipam", details: "assign_ipv4 and assign_ipv6 are both false") }
        if ipv4Pools.contains(where: { $0.family != .v4 }) { throw .invalidConfig("invalid ipam.ipv4_pools", details: "IPv4 CIDRs only") }
        if ipv6Pools.contains(where: { $0.family != .v6 }) { throw .invalidConfig("invalid ipam.ipv6_pools", details: "IPv6 CIDRs only") }
    }
}

/// Typed access to the members of a config object; a wrong JSON type is a decode error (6).
struct FieldReader {
    let object: JSONObject
    let path: String

    private func mismatch(_ key: String, _ expected: String, _ found: JSONValue) -> CNIError {
        .decode("error parsing the network configuration", details: "\(path)\(key): expected \(expected), found \(found.typeName)")
    }

    mutating func string(_ key: String) throws(CNIError) -> String {
        switch object[key] {
        case nil, .null?: return ""
        case .string(let s)?: return s
        case let other?: throw mismatch(key, "a string", other)
        }
    }

    mutating func bool(_ key: String) throws(CNIError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw mismatch(key, "a boolean", other)
        }
    }

    /// Calico's `"true"`/`"false"` strings (a JSON boolean is accepted too).
    mutating func boolString(_ key: String) throws(CNIError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case .string(let s)?:
            switch s.lowercased() {
            case "true": return true
            case "false": return false
            case "": return nil
            default: throw .invalidConfig("invalid \(path)\(key) \"\(s)\"", details: "expected \"true\" or \"false\"")
            }
        case let other?: throw mismatch(key, "\"true\" or \"false\"", other)
        }
    }

    mutating func int(_ key: String) throws(CNIError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let n = Int(text) else { throw .invalidConfig("invalid \(path)\(key) \(text)", details: "expected an integer") }
            return n
        case let other?: throw mismatch(key, "a number", other)
        }
    }

    mutating func object(_ key: String) throws(CNIError) -> JSONObject? {
        switch object[key] {
        case nil, .null?: return nil
        case .object(let o)?: return o
        case let other?: throw mismatch(key, "an object", other)
        }
    }

    mutating func cidrs(_ key: String) throws(CNIError) -> [CIDR] {
        switch object[key] {
        case nil, .null?: return []
        case .array(let items)?:
            var out: [CIDR] = []
            for (i, item) in items.enumerated() {
                guard let text = item.stringValue, let cidr = CIDR(text) else {
                    throw .invalidConfig("invalid \(path)\(key)[\(i)]", details: "expected a CIDR string")
                }
                out.append(cidr.network)
            }
            return out
        case let other?: throw mismatch(key, "an array", other)
        }
    }
}
