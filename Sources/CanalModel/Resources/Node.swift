/// The spec of a Calico node: its BGP identity, tunnel addresses and the orchestrator's names for it.
///
/// Fields follow Calico's internal `NodeSpec` (`libcalico-go/lib/apis/internalapi/node.go`).
/// The resource's `status` (WireGuard public keys, pod CIDRs) is kept as written.
public struct NodeSpec: ResourceSpec {
    public static var kind: ResourceKind { .node }

    /// The node's BGP settings.
    public struct BGP: Sendable, Hashable, Codable {
        /// The node's AS number; nil means the cluster default.
        public var asNumber: ASNumber?
        /// The node's IPv4 address with its network's prefix (host bits allowed), for example `10.0.0.5/24`.
        public var ipv4Address: String
        /// The node's IPv6 address with its network's prefix.
        public var ipv6Address: String
        /// The address of the node's IP-in-IP tunnel device.
        public var ipv4IPIPTunnelAddr: String
        /// Makes the node a route reflector with this cluster id (an IPv4 address).
        public var routeReflectorClusterID: String

        /// BGP settings; every field defaults to "not set".
        public init(
            asNumber: ASNumber? = nil, ipv4Address: String = "", ipv6Address: String = "",
            ipv4IPIPTunnelAddr: String = "", routeReflectorClusterID: String = ""
        ) {
            self.asNumber = asNumber
            self.ipv4Address = ipv4Address
            self.ipv6Address = ipv6Address
            self.ipv4IPIPTunnelAddr = ipv4IPIPTunnelAddr
            self.routeReflectorClusterID = routeReflectorClusterID
        }

        /// Whether no field is set.
        public var isEmpty: Bool { self == BGP() }

        private enum CodingKeys: String, CodingKey {
            case asNumber, ipv4Address, ipv6Address, ipv4IPIPTunnelAddr, routeReflectorClusterID
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            asNumber = try c.decodeIfPresent(ASNumber.self, forKey: .asNumber)
            ipv4Address = try c.decodeOrZero(String.self, forKey: .ipv4Address)
            ipv6Address = try c.decodeOrZero(String.self, forKey: .ipv6Address)
            ipv4IPIPTunnelAddr = try c.decodeOrZero(String.self, forKey: .ipv4IPIPTunnelAddr)
            routeReflectorClusterID = try c.decodeOrZero(String.self, forKey: .routeReflectorClusterID)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(asNumber, forKey: .asNumber)
            try c.encodeUnlessZero(ipv4Address, forKey: .ipv4Address)
            try c.encodeUnlessZero(ipv6Address, forKey: .ipv6Address)
            try c.encodeUnlessZero(ipv4IPIPTunnelAddr, forKey: .ipv4IPIPTunnelAddr)
            try c.encodeUnlessZero(routeReflectorClusterID, forKey: .routeReflectorClusterID)
        }
    }

    /// The node's name in an orchestrator.
    public struct OrchRef: Sendable, Hashable, Codable {
        /// The node's name there.
        public var nodeName: String
        /// The orchestrator (`k8s`, `openstack`, …); always written.
        public var orchestrator: String

        /// An orchestrator reference.
        public init(nodeName: String = "", orchestrator: String) {
            self.nodeName = nodeName
            self.orchestrator = orchestrator
        }

        private enum CodingKeys: String, CodingKey { case nodeName, orchestrator }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            nodeName = try c.decodeOrZero(String.self, forKey: .nodeName)
            orchestrator = try c.decodeOrZero(String.self, forKey: .orchestrator)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(nodeName, forKey: .nodeName)
            try c.encode(orchestrator, forKey: .orchestrator)
        }
    }

    /// The node's WireGuard interface addresses.
    public struct Wireguard: Sendable, Hashable, Codable {
        /// The IPv4 WireGuard interface's address.
        public var interfaceIPv4Address: String
        /// The IPv6 WireGuard interface's address.
        public var interfaceIPv6Address: String

        /// WireGuard settings.
        public init(interfaceIPv4Address: String = "", interfaceIPv6Address: String = "") {
            self.interfaceIPv4Address = interfaceIPv4Address
            self.interfaceIPv6Address = interfaceIPv6Address
        }

        private enum CodingKeys: String, CodingKey { case interfaceIPv4Address, interfaceIPv6Address }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            interfaceIPv4Address = try c.decodeOrZero(String.self, forKey: .interfaceIPv4Address)
            interfaceIPv6Address = try c.decodeOrZero(String.self, forKey: .interfaceIPv6Address)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(interfaceIPv4Address, forKey: .interfaceIPv4Address)
            try c.encodeUnlessZero(interfaceIPv6Address, forKey: .interfaceIPv6Address)
        }
    }

    /// One address of the node.
    public struct Address: Sendable, Hashable, Codable {
        /// The kind of a node address.
        public enum AddressType: String, CalicoEnum {
            /// The address Calico uses for the node.
            case calicoNodeIP = "CalicoNodeIP"
            /// The orchestrator's internal address.
            case internalIP = "InternalIP"
            /// The orchestrator's external address.
            case externalIP = "ExternalIP"
        }

        /// An address, or a strictly masked CIDR; always written.
        public var address: String
        /// The kind of address.
        public var type: AddressType?

        /// A node address.
        public init(address: String, type: AddressType? = nil) {
            self.address = address
            self.type = type
        }

        private enum CodingKeys: String, CodingKey { case address, type }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            address = try c.decodeOrZero(String.self, forKey: .address)
            type = try c.decodeIfPresent(AddressType.self, forKey: .type)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encodeIfPresent(type, forKey: .type)
        }
    }

    /// A network interface of the node.
    public struct Interface: Sendable, Hashable, Codable {
        /// The interface's name.
        public var name: String
        /// Its addresses.
        public var addresses: [String]

        /// An interface.
        public init(name: String = "", addresses: [String] = []) {
            self.name = name
            self.addresses = addresses
        }

        private enum CodingKeys: String, CodingKey { case name, addresses }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeOrZero(String.self, forKey: .name)
            addresses = try c.decodeOrZero([String].self, forKey: .addresses)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(name, forKey: .name)
            try c.encodeUnlessZero(addresses, forKey: .addresses)
        }
    }

    /// BGP settings; when present, at least one field must be set.
    public var bgp: BGP?
    /// The IPv4 address of the VXLAN tunnel device.
    public var ipv4VXLANTunnelAddr: String
    /// The MAC address of the IPv4 VXLAN tunnel device.
    public var vxlanTunnelMACAddr: String
    /// The IPv6 address of the VXLAN tunnel device.
    public var ipv6VXLANTunnelAddr: String
    /// The MAC address of the IPv6 VXLAN tunnel device.
    public var vxlanTunnelMACAddrV6: String
    /// The node's names in orchestrators.
    public var orchRefs: [OrchRef]
    /// WireGuard settings.
    public var wireguard: Wireguard?
    /// Addresses the node can be reached at.
    public var addresses: [Address]
    /// The node's interfaces.
    public var interfaces: [Interface]

    /// A node spec; every field defaults to "not set".
    public init(
        bgp: BGP? = nil, ipv4VXLANTunnelAddr: String = "", vxlanTunnelMACAddr: String = "",
        ipv6VXLANTunnelAddr: String = "", vxlanTunnelMACAddrV6: String = "", orchRefs: [OrchRef] = [],
        wireguard: Wireguard? = nil, addresses: [Address] = [], interfaces: [Interface] = []
    ) {
        self.bgp = bgp
        self.ipv4VXLANTunnelAddr = ipv4VXLANTunnelAddr
        self.vxlanTunnelMACAddr = vxlanTunnelMACAddr
        self.ipv6VXLANTunnelAddr = ipv6VXLANTunnelAddr
        self.vxlanTunnelMACAddrV6 = vxlanTunnelMACAddrV6
        self.orchRefs = orchRefs
        self.wireguard = wireguard
        self.addresses = addresses
        self.interfaces = interfaces
    }

    private enum CodingKeys: String, CodingKey {
        case bgp, ipv4VXLANTunnelAddr, vxlanTunnelMACAddr, ipv6VXLANTunnelAddr, vxlanTunnelMACAddrV6
        case orchRefs, wireguard, addresses, interfaces
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bgp = try c.decodeIfPresent(BGP.self, forKey: .bgp)
        ipv4VXLANTunnelAddr = try c.decodeOrZero(String.self, forKey: .ipv4VXLANTunnelAddr)
        vxlanTunnelMACAddr = try c.decodeOrZero(String.self, forKey: .vxlanTunnelMACAddr)
        ipv6VXLANTunnelAddr = try c.decodeOrZero(String.self, forKey: .ipv6VXLANTunnelAddr)
        vxlanTunnelMACAddrV6 = try c.decodeOrZero(String.self, forKey: .vxlanTunnelMACAddrV6)
        orchRefs = try c.decodeOrZero([OrchRef].self, forKey: .orchRefs)
        wireguard = try c.decodeIfPresent(Wireguard.self, forKey: .wireguard)
        addresses = try c.decodeOrZero([Address].self, forKey: .addresses)
        interfaces = try c.decodeOrZero([Interface].self, forKey: .interfaces)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(bgp, forKey: .bgp)
        try c.encodeUnlessZero(ipv4VXLANTunnelAddr, forKey: .ipv4VXLANTunnelAddr)
        try c.encodeUnlessZero(vxlanTunnelMACAddr, forKey: .vxlanTunnelMACAddr)
        try c.encodeUnlessZero(ipv6VXLANTunnelAddr, forKey: .ipv6VXLANTunnelAddr)
        try c.encodeUnlessZero(vxlanTunnelMACAddrV6, forKey: .vxlanTunnelMACAddrV6)
        try c.encodeUnlessZero(orchRefs, forKey: .orchRefs)
        try c.encodeIfPresent(wireguard, forKey: .wireguard)
        try c.encodeUnlessZero(addresses, forKey: .addresses)
        try c.encodeUnlessZero(interfaces, forKey: .interfaces)
    }

    /// The node's IPv4 BGP address and network, when set and valid.
    public var ipv4Network: CIDR? { bgp.flatMap { CIDR(ipOrCIDR: $0.ipv4Address) }.flatMap { $0.family == .v4 ? $0 : nil } }
    /// The node's IPv6 BGP address and network, when set and valid.
    public var ipv6Network: CIDR? { bgp.flatMap { CIDR(ipOrCIDR: $0.ipv6Address) }.flatMap { $0.family == .v6 ? $0 : nil } }

    /// Calico's Node rules (`validateNodeSpec` and the field tags of `internalapi.NodeSpec`).
    public static func validate(_ node: Resource<NodeSpec>, into v: inout Validator) {
        let s = node.spec
        let p = FieldPath("spec")
        if let bgp = s.bgp {
            let bp = p["bgp"]
            if bgp.isEmpty { v.report(bp, "bgp must not be empty when present") }
            if !bgp.ipv4Address.isEmpty { v.addressOrCIDR(bgp.ipv4Address, family: .v4, at: bp["ipv4Address"]) }
            if !bgp.ipv6Address.isEmpty { v.addressOrCIDR(bgp.ipv6Address, family: .v6, at: bp["ipv6Address"]) }
            if !bgp.ipv4IPIPTunnelAddr.isEmpty { v.address(bgp.ipv4IPIPTunnelAddr, family: .v4, at: bp["ipv4IPIPTunnelAddr"]) }
            if !bgp.routeReflectorClusterID.isEmpty {
                v.address(bgp.routeReflectorClusterID, family: .v4, at: bp["routeReflectorClusterID"])
            }
        }
        if !s.ipv4VXLANTunnelAddr.isEmpty { v.address(s.ipv4VXLANTunnelAddr, family: .v4, at: p["ipv4VXLANTunnelAddr"]) }
        if !s.ipv6VXLANTunnelAddr.isEmpty { v.address(s.ipv6VXLANTunnelAddr, family: .v6, at: p["ipv6VXLANTunnelAddr"]) }
        if !s.vxlanTunnelMACAddr.isEmpty { v.mac(s.vxlanTunnelMACAddr, at: p["vxlanTunnelMACAddr"]) }
        if !s.vxlanTunnelMACAddrV6.isEmpty { v.mac(s.vxlanTunnelMACAddrV6, at: p["vxlanTunnelMACAddrV6"]) }
        if let wg = s.wireguard {
            if !wg.interfaceIPv4Address.isEmpty {
                v.address(wg.interfaceIPv4Address, family: .v4, at: p["wireguard"]["interfaceIPv4Address"])
            }
            if !wg.interfaceIPv6Address.isEmpty {
                v.address(wg.interfaceIPv6Address, family: .v6, at: p["wireguard"]["interfaceIPv6Address"])
            }
        }
        for (i, a) in s.addresses.enumerated() {
            // Calico's `net` rule: an address, or a CIDR without host bits.
            let ap = p["addresses"][i]["address"]
            if a.address.isEmpty {
                v.report(ap, "an address is required")
            } else if a.address.contains("/") {
                v.cidr(a.address, at: ap, strict: true)
            } else {
                v.ip(a.address, at: ap)
            }
        }
        for (i, iface) in s.interfaces.enumerated() where !iface.name.isEmpty {
            v.name(iface.name, at: p["interfaces"][i]["name"])
        }
    }
}

extension Validator {
    /// An address of the given family.
    mutating func address(_ text: String, family: IPAddress.Family, at path: FieldPath) {
        guard let ip = IPAddress(text) else {
            report(path, "\"\(text)\" is not a valid \(family) address")
            return
        }
        if ip.family != family { report(path, "\"\(text)\" is not an \(family) address") }
    }

    /// An address or a CIDR (host bits allowed) of the given family.
    mutating func addressOrCIDR(_ text: String, family: IPAddress.Family, at path: FieldPath) {
        guard let cidr = CIDR(ipOrCIDR: text) else {
            report(path, "\"\(text)\" is not a valid \(family) address or CIDR")
            return
        }
        if cidr.family != family { report(path, "\"\(text)\" is not an \(family) address or CIDR") }
    }

    /// A MAC address in one of the forms Go's `net.ParseMAC` takes: 6, 8 or 20 octets as
    /// `xx:xx:…`, `xx-xx-…` or `xxxx.xxxx.…`.
    mutating func mac(_ text: String, at path: FieldPath) {
        if !MACAddress.isValid(text) {
            report(path, "\"\(text)\" is not a MAC address (for example 66:77:88:99:aa:bb)")
        }
    }
}

/// MAC address syntax as Go's `net.ParseMAC` accepts it.
enum MACAddress {
    static func isValid(_ text: String) -> Bool {
        let u = Array(text.utf8)
        func isHex(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
        }
        guard u.count >= 14 else { return false }
        if u[2] == UInt8(ascii: ":") || u[2] == UInt8(ascii: "-") {
            guard (u.count + 1) % 3 == 0 else { return false }
            let octets = (u.count + 1) / 3
            guard octets == 6 || octets == 8 || octets == 20 else { return false }
            let sep = u[2]
            for i in 0..<octets {
                let x = 3 * i
                guard isHex(u[x]), isHex(u[x + 1]) else { return false }
                if i < octets - 1, u[x + 2] != sep { return false }
            }
            return true
        }
        if u[4] == UInt8(ascii: ".") {
            guard (u.count + 1) % 5 == 0 else { return false }
            let octets = 2 * (u.count + 1) / 5
            guard octets == 6 || octets == 8 || octets == 20 else { return false }
            for i in 0..<(octets / 2) {
                let x = 5 * i
                guard isHex(u[x]), isHex(u[x + 1]), isHex(u[x + 2]), isHex(u[x + 3]) else { return false }
                if i < octets / 2 - 1, u[x + 4] != UInt8(ascii: ".") { return false }
            }
            return true
        }
        return false
    }
}
