/// The spec of an IP reservation: addresses Calico IPAM must not hand out for new allocations
/// (existing allocations are left alone).
public struct IPReservationSpec: ResourceSpec {
    public static var kind: ResourceKind { .ipReservation }

    /// The reserved networks: each a CIDR (host bits allowed) or a bare address.
    public var reservedCIDRs: [String]

    /// A reservation of the given networks.
    public init(reservedCIDRs: [String] = []) { self.reservedCIDRs = reservedCIDRs }

    private enum CodingKeys: String, CodingKey { case reservedCIDRs }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reservedCIDRs = try c.decodeOrZero([String].self, forKey: .reservedCIDRs)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeUnlessZero(reservedCIDRs, forKey: .reservedCIDRs)
    }

    /// The reserved networks that parse, each as a CIDR (a bare address as /32 or /128).
    public var networks: [CIDR] { reservedCIDRs.compactMap { CIDR(ipOrCIDR: $0) } }

    /// Each entry must be a CIDR or an address, and (a set) appear once.
    public static func validate(_ r: Resource<IPReservationSpec>, into v: inout Validator) {
        let p = FieldPath("spec")["reservedCIDRs"]
        for (i, text) in r.spec.reservedCIDRs.enumerated() {
            v.ipOrCIDR(text, at: p[i])
            if r.spec.reservedCIDRs[..<i].contains(text) { v.report(p[i], "duplicate entry \"\(text)\"") }
        }
    }
}
