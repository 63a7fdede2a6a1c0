public import CanalModel

/// A CNI result: interfaces, addresses, routes and DNS, read from any supported version's shape and
/// written in the shape of the requested version.
public struct CNIResult: Sendable, Hashable {
    /// An interface the plugin created or configured.
    public struct Interface: Sendable, Hashable {
        /// Its name.
        public var name: String
        /// Its MAC address (empty when not known).
        public var mac: String
        /// The namespace path it lives in; empty for the host.
        public var sandbox: String

        /// An interface.
        public init(name: String, mac: String = "", sandbox: String = "") {
            self.name = name
            self.mac = mac
            self.sandbox = sandbox
        }
    }

    /// One address with its prefix (the host bits are kept: `10.0.0.5/26`).
    public struct IPConfig: Sendable, Hashable {
        /// The address and its prefix length.
        public var address: CIDR
        /// The gateway, if any.
        public var gateway: IPAddress?
        /// The index into ``CNIResult/interfaces`` of the interface holding the address.
        public var interface: Int?

        /// An address.
        public init(address: CIDR, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    /// A route.
    public struct Route: Sendable, Hashable {
        /// The destination.
        public var dst: CIDR
        /// The next hop; nil means the interface's default.
        public var gw: IPAddress?

        /// A route.
        public init(dst: CIDR, gw: IPAddress? = nil) {
            self.dst = dst
            self.gw = gw
        }
    }

    /// The interfaces.
    public var interfaces: [Interface]
    /// The addresses.
    public var ips: [IPConfig]
    /// The routes.
    public var routes: [Route]
    /// The DNS settings, kept as given (`{}` when none).
    public var dns: JSONValue

    /// A result from its parts.
    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: JSONValue = .object(JSONObject())) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// Reads a result of any supported version: `ips`/`interfaces`/`routes` (0.3.0 and later) or
    /// `ip4`/`ip6` (0.1.0, 0.2.0).
    ///
    /// - Throws: ``CNIError`` 6 naming the member that does not parse.
    public init(json value: JSONValue) throws(CNIError) {
        func bad(_ what: String) -> CNIError { .decode("error parsing a CNI result", details: what) }
        func cidr(_ v: JSONValue?, _ what: String) throws(CNIError) -> CIDR {
            guard let text = v?.stringValue, let c = CIDR(text) else { throw bad("\(what): expected a CIDR") }
            return c
        }
        func ip(_ v: JSONValue?, _ what: String) throws(CNIError) -> IPAddress? {
            guard let v, v != .null else { return nil }
            guard let text = v.stringValue, let a = IPAddress(text) else { throw bad("\(what): expected an IP address") }
            return a
        }
        func routes(_ v: JSONValue?, _ what: String) throws(CNIError) -> [Route] {
            guard let v, v != .null else { return [] }
            guard case .array(let items) = v else { throw bad("\(what): expected an array") }
            var out: [Route] = []
            for (i, r) in items.enumerated() {
                out.append(Route(dst: try cidr(r["dst"], "\(what)[\(i)].dst"), gw: try ip(r["gw"], "\(what)[\(i)].gw")))
            }
            return out
        }
        guard case .object = value else { throw bad("expected an object, found \(value.typeName)") }
        self.init(dns: value["dns"] ?? .object(JSONObject()))
        if case .array(let list)? = value["interfaces"] {
            for (i, item) in list.enumerated() {
                guard let name = item["name"]?.stringValue else { throw bad("interfaces[\(i)].name: expected a string") }
                interfaces.append(Interface(name: name, mac: item["mac"]?.stringValue ?? "", sandbox: item["sandbox"]?.stringValue ?? ""))
            }
        }
        if case .array(let list)? = value["ips"] {
            for (i, item) in list.enumerated() {
                var index: Int?
                if case .number(let n)? = item["interface"] { index = Int(n) }
                ips.append(IPConfig(address: try cidr(item["address"], "ips[\(i)].address"),
                                    gateway: try ip(item["gateway"], "ips[\(i)].gateway"), interface: index))
            }
            self.routes = try routes(value["routes"], "routes")
        } else {
            for key in ["ip4", "ip6"] {
                guard let family = value[key], family != .null else { continue }
                ips.append(IPConfig(address: try cidr(family["ip"], "\(key).ip"), gateway: try ip(family["gateway"], "\(key).gateway")))
                self.routes += try routes(family["routes"], "\(key).routes")
            }
        }
    }

    /// The result as JSON in the shape of `version` (0.1.0/0.2.0: `ip4`/`ip6`; 0.3.x/0.4.0:
    /// `ips` with `version`; 1.0.0: `ips` without `version`).
    public func json(cniVersion: String, version: CNIVersion) -> JSONValue {
        var out = JSONObject()
        out["cniVersion"] = .string(cniVersion)
        func routeJSON(_ r: Route) -> JSONValue {
            var o = JSONObject()
            o["dst"] = .string(r.dst.description)
            if let gw = r.gw { o["gw"] = .string(gw.description) }
            return .object(o)
        }
        if version < .v0_3_0 {
            for family in [IPAddress.Family.v4, .v6] {
                guard let first = ips.first(where: { $0.address.family == family }) else { continue }
                var o = JSONObject()
                o["ip"] = .string(first.address.description)
                if let gw = first.gateway { o["gateway"] = .string(gw.description) }
                let familyRoutes = routes.filter { $0.dst.family == family }
                if !familyRoutes.isEmpty { o["routes"] = .array(familyRoutes.map(routeJSON)) }
                out[family == .v4 ? "ip4" : "ip6"] = .object(o)
            }
            out["dns"] = dns
            return .object(out)
        }
        if !interfaces.isEmpty {
            out["interfaces"] = .array(interfaces.map { i in
                var o = JSONObject()
                o["name"] = .string(i.name)
                if !i.mac.isEmpty { o["mac"] = .string(i.mac) }
                if !i.sandbox.isEmpty { o["sandbox"] = .string(i.sandbox) }
                return .object(o)
            })
        }
        if !ips.isEmpty {
            out["ips"] = .array(ips.map { ip in
                var o = JSONObject()
                if version < .latest { o["version"] = .string(ip.address.family == .v4 ? "4" : "6") }
                if let index = ip.interface { o["interface"] = .number(String(index)) }
                o["address"] = .string(ip.address.description)
                if let gw = ip.gateway { o["gateway"] = .string(gw.description) }
                return .object(o)
            })
        }
        if !routes.isEmpty { out["routes"] = .array(routes.map(routeJSON)) }
        out["dns"] = dns
        return .object(out)
    }
}
