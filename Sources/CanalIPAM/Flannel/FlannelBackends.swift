public import CanalModel

/// The vxlan backend's data in a lease (flannel `vxlanLeaseAttrs`): `{"VNI":1,"VtepMAC":"ae:…"}`.
public struct FlannelVXLANData: Sendable, Hashable {
    /// The VXLAN network identifier (flannel's default 1).
    public var vni: Int
    /// The MAC address of the host's `flannel.<VNI>` device, lowercase `aa:bb:cc:dd:ee:ff`.
    public var vtepMAC: String

    /// Backend data for a device.
    public init(vni: Int, vtepMAC: String) {
        self.vni = vni
        self.vtepMAC = vtepMAC.lowercased()
    }

    /// Reads `BackendData` (keys case-insensitive, as Go's decoder); nil when the MAC is missing or malformed.
    public init?(_ json: JSONValue?) {
        guard let object = json?.objectValue else { return nil }
        func field(_ name: String) -> JSONValue? { object.first(where: { $0.key.lowercased() == name.lowercased() })?.value }
        guard let mac = field("VtepMAC")?.stringValue, Self.isMAC(mac) else { return nil }
        self.init(vni: field("VNI")?.intValue ?? 1, vtepMAC: mac)
    }

    /// `{"VNI":n,"VtepMAC":"…"}`.
    public var json: JSONValue {
        .object(JSONObject([("VNI", .number(String(vni))), ("VtepMAC", .string(vtepMAC))]))
    }

    /// A random locally administered unicast MAC, as flannel gives a new VTEP device.
    public static func randomMAC() -> String {
        var bytes = (0..<6).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0xFE) | 0x02
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// Whether `text` is six colon-separated hex octets.
    public static func isMAC(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
    }
}

/// What a flannel backend programs on one host for another host's lease.
///
/// - host-gw: a route to the peer's subnet via its public IP on the external interface.
/// - vxlan: on `flannel.<VNI>`, an on-link route to the subnet via the subnet's first (network)
///   address, a permanent neighbour entry mapping that address to the peer's VTEP MAC, and an FDB
///   entry sending that MAC to the peer's public IP.
public struct FlannelPeer: Sendable, Hashable {
    /// The peer's subnet.
    public var subnet: CIDR
    /// The peer's public IP (the host-gw gateway, the vxlan FDB destination).
    public var publicIP: IPAddress
    /// The peer's VTEP (vxlan only).
    public var vxlan: FlannelVXLANData?

    /// A peer.
    public init(subnet: CIDR, publicIP: IPAddress, vxlan: FlannelVXLANData? = nil) {
        self.subnet = subnet
        self.publicIP = publicIP
        self.vxlan = vxlan
    }

    /// The vxlan next hop: the subnet's network address (flannel puts it, as a /32, on each host's device).
    public var gateway: IPAddress { subnet.network.address }

    /// The peers a host programs from the current leases, in subnet order: every lease of the same
    /// backend type that is not the host's own (by public IP or subnet). A vxlan lease without valid
    /// backend data is skipped, as flannel skips a lease it cannot decode.
    public static func peers(of leases: [FlannelLease], backendType: String, publicIP: IPAddress, ownSubnet: CIDR?) -> [FlannelPeer] {
        var out: [FlannelPeer] = []
        for lease in leases where lease.attributes.backendType == backendType {
            if lease.attributes.publicIP == publicIP || lease.subnet.network == ownSubnet?.network { continue }
            if backendType == "vxlan" {
                guard let data = FlannelVXLANData(lease.attributes.backendData) else { continue }
                out.append(FlannelPeer(subnet: lease.subnet.network, publicIP: lease.attributes.publicIP, vxlan: data))
            } else {
                out.append(FlannelPeer(subnet: lease.subnet.network, publicIP: lease.attributes.publicIP))
            }
        }
        return out.sorted { $0.subnet.address < $1.subnet.address }
    }
}
