/// The spec of an IP pool: a range of addresses Calico IPAM hands out, in blocks, and how traffic
/// to it is encapsulated.
///
/// Fields follow Calico's `IPPoolSpec` (`api/pkg/apis/projectcalico/v3/ippool.go`) in order and
/// spelling. Go fields that are not pointers are plain values here, with Go's zero value meaning
/// "not set" (`blockSize` 0, `nodeSelector` ""), and are left out of the JSON when zero, as Go's
/// `omitempty` does.
public struct IPPoolSpec: ResourceSpec {
    public static var kind: ResourceKind { .ipPool }

    /// How packets to a pool's addresses are encapsulated between nodes.
    public enum EncapsulationMode: String, CalicoEnum {
        /// No encapsulation.
        case never = "Never"
        /// Always encapsulate.
        case always = "Always"
        /// Encapsulate only when the destination node is on another subnet.
        case crossSubnet = "CrossSubnet"
    }

    /// What addresses of a pool may be used for.
    public enum AllowedUse: String, CalicoEnum {
        /// Workload (pod) addresses.
        case workload = "Workload"
        /// Tunnel device addresses of nodes.
        case tunnel = "Tunnel"
        /// LoadBalancer service addresses.
        case loadBalancer = "LoadBalancer"
    }

    /// Whether IPAM picks the pool on its own or only on request.
    public enum AssignmentMode: String, CalicoEnum {
        /// IPAM may assign from the pool without being asked for it.
        case automatic = "Automatic"
        /// Addresses come from the pool only when it is named explicitly.
        case manual = "Manual"
    }

    /// The pool's network, for example `192.168.0.0/16`; required and strictly masked.
    public var cidr: String
    /// VXLAN encapsulation; nil means `Never` (filled in by ``applyDefaults(to:)``).
    public var vxlanMode: EncapsulationMode?
    /// IP-in-IP encapsulation (IPv4 only); nil means `Never`.
    public var ipipMode: EncapsulationMode?
    /// Masquerade traffic from the pool to destinations outside all pools.
    public var natOutgoing: Bool
    /// Stop IPAM assigning new addresses from the pool.
    public var disabled: Bool
    /// Do not export the pool's routes over BGP.
    public var disableBGPExport: Bool
    /// The prefix length of the pool's allocation blocks; 0 means the default (26 for IPv4, 122 for IPv6).
    public var blockSize: Int
    /// Which nodes may take blocks from the pool; "" means `all()`.
    public var nodeSelector: String
    /// Which namespaces' workloads may take addresses from the pool; "" means any.
    public var namespaceSelector: String
    /// What the pool is for; empty means `[Workload, Tunnel]`.
    public var allowedUses: [AllowedUse]
    /// How IPAM chooses the pool; nil means `Automatic`.
    public var assignmentMode: AssignmentMode?

    /// A pool spec; everything but the CIDR has Calico's "unset" value.
    public init(
        cidr: String, vxlanMode: EncapsulationMode? = nil, ipipMode: EncapsulationMode? = nil,
        natOutgoing: Bool = false, disabled: Bool = false, disableBGPExport: Bool = false,
        blockSize: Int = 0, nodeSelector: String = "", namespaceSelector: String = "",
        allowedUses: [AllowedUse] = [], assignmentMode: AssignmentMode? = nil
    ) {
        self.cidr = cidr
        self.vxlanMode = vxlanMode
        self.ipipMode = ipipMode
        self.natOutgoing = natOutgoing
        self.disabled = disabled
        self.disableBGPExport = disableBGPExport
        self.blockSize = blockSize
        self.nodeSelector = nodeSelector
        self.namespaceSelector = namespaceSelector
        self.allowedUses = allowedUses
        self.assignmentMode = assignmentMode
    }

    private enum CodingKeys: String, CodingKey {
        case cidr, vxlanMode, ipipMode, natOutgoing, disabled, disableBGPExport, blockSize
        case nodeSelector, namespaceSelector, allowedUses, assignmentMode
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cidr = try c.decodeOrZero(String.self, forKey: .cidr)
        vxlanMode = try c.decodeIfPresent(EncapsulationMode.self, forKey: .vxlanMode)
        ipipMode = try c.decodeIfPresent(EncapsulationMode.self, forKey: .ipipMode)
        natOutgoing = try c.decodeOrZero(Bool.self, forKey: .natOutgoing)
        disabled = try c.decodeOrZero(Bool.self, forKey: .disabled)
        disableBGPExport = try c.decodeOrZero(Bool.self, forKey: .disableBGPExport)
        blockSize = try c.decodeOrZero(Int.self, forKey: .blockSize)
        nodeSelector = try c.decodeOrZero(String.self, forKey: .nodeSelector)
        namespaceSelector = try c.decodeOrZero(String.self, forKey: .namespaceSelector)
        allowedUses = try c.decodeOrZero([AllowedUse].self, forKey: .allowedUses)
        assignmentMode = try c.decodeIfPresent(AssignmentMode.self, forKey: .assignmentMode)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // `cidr` has no omitempty in Calico: it is always written.
        try c.encode(cidr, forKey: .cidr)
        try c.encodeIfPresent(vxlanMode, forKey: .vxlanMode)
        try c.encodeIfPresent(ipipMode, forKey: .ipipMode)
        try c.encodeUnlessZero(natOutgoing, forKey: .natOutgoing)
        try c.encodeUnlessZero(disabled, forKey: .disabled)
        try c.encodeUnlessZero(disableBGPExport, forKey: .disableBGPExport)
        try c.encodeUnlessZero(blockSize, forKey: .blockSize)
        try c.encodeUnlessZero(nodeSelector, forKey: .nodeSelector)
        try c.encodeUnlessZero(namespaceSelector, forKey: .namespaceSelector)
        try c.encodeUnlessZero(allowedUses, forKey: .allowedUses)
        try c.encodeIfPresent(assignmentMode, forKey: .assignmentMode)
    }

    /// The default block size of a family: 26 for IPv4, 122 for IPv6.
    public static func defaultBlockSize(for family: IPAddress.Family) -> Int { family == .v4 ? 26 : 122 }

    /// The pool's network, when ``cidr`` parses.
    public var network: CIDR? { CIDR(cidr) }

    /// The block size in effect: ``blockSize``, or the family's default when it is 0.
    public var effectiveBlockSize: Int? {
        if blockSize != 0 { return blockSize }
        return network.map { Self.defaultBlockSize(for: $0.family) }
    }

    /// The uses in effect: ``allowedUses``, or `[Workload, Tunnel]` when empty.
    public var effectiveAllowedUses: [AllowedUse] { allowedUses.isEmpty ? [.workload, .tunnel] : allowedUses }

    /// Fills in what Calico's client and CRD defaults fill in on create, update and read
    /// (`clientv3/ippool.go` `validateAndSetDefaults`, `convertIpPoolFromStorage`):
    /// the CIDR in canonical form, the block size of its family, `nodeSelector: all()`,
    /// `allowedUses: [Workload, Tunnel]`, `ipipMode`/`vxlanMode: Never`, `assignmentMode: Automatic`.
    ///
    /// A CIDR that does not parse, or has host bits set, is left as written so validation reports it
    /// (Calico reports an unmasked CIDR too, after normalising it).
    public static func applyDefaults(to pool: inout Resource<IPPoolSpec>) {
        var spec = pool.spec
        if let net = CIDR(spec.cidr) {
            if net.isMasked { spec.cidr = net.description }
            if spec.blockSize == 0 { spec.blockSize = defaultBlockSize(for: net.family) }
        }
        if spec.nodeSelector.isEmpty { spec.nodeSelector = "all()" }
        if spec.allowedUses.isEmpty { spec.allowedUses = [.workload, .tunnel] }
        if spec.ipipMode == nil { spec.ipipMode = .never }
        if spec.vxlanMode == nil { spec.vxlanMode = .never }
        if spec.assignmentMode == nil { spec.assignmentMode = .automatic }
        pool.spec = spec
    }

    /// Calico's IPPool rules: the Go validator (`validateIPPoolSpec`) and the CRD's CEL rules.
    ///
    /// Rules that need other resources (no overlap with other pools, immutable CIDR and block size,
    /// no switching away from LoadBalancer) belong to the datastore client.
    public static func validate(_ pool: Resource<IPPoolSpec>, into v: inout Validator) {
        let spec = pool.spec
        let p = FieldPath("spec")
        let uses = spec.allowedUses
        let isLoadBalancer = uses.contains(.loadBalancer)

        var net: CIDR?
        if spec.cidr.isEmpty {
            v.report(p["cidr"], "an IP pool needs a CIDR")
        } else if spec.cidr.utf8.count > 48 {
            v.report(p["cidr"], "the CIDR is longer than 48 characters")
        } else if let parsed = CIDR(spec.cidr) {
            net = parsed
            if !parsed.isMasked {
                v.report(p["cidr"], "\"\(spec.cidr)\" is not strictly masked (did you mean \(parsed.network)?)")
            }
        } else {
            v.report(p["cidr"], "\"\(spec.cidr)\" is not a valid CIDR")
        }

        if let net {
            let linkLocal = net.family == .v4 ? CIDR("169.254.0.0/16")! : CIDR("fe80::/10")!
            if net.overlaps(linkLocal) {
                v.report(p["cidr"], "the pool overlaps the \(net.family) link-local range \(linkLocal)")
            }
            if spec.blockSize != 0 {
                let range = net.family == .v4 ? 20...32 : 116...128
                if !range.contains(spec.blockSize) {
                    v.report(p["blockSize"], "block size \(spec.blockSize) is out of range: \(range.lowerBound) to \(range.upperBound) for an \(net.family) pool")
                }
            }
            let block = spec.blockSize != 0 ? spec.blockSize : defaultBlockSize(for: net.family)
            if !spec.disabled, net.prefixLength > block {
                v.report(p["cidr"], "the pool (/\(net.prefixLength)) is smaller than one block (/\(block)); use a prefix of at most /\(block)")
            }
            if net.family == .v6, let ipip = spec.ipipMode, ipip != .never {
                v.report(p["ipipMode"], "IP-in-IP is not supported on IPv6 pools")
            }
        }
        if net == nil, !(0...128).contains(spec.blockSize) {
            v.report(p["blockSize"], "block size \(spec.blockSize) is out of range: 0 to 128")
        }

        let ipipOn = spec.ipipMode.map { $0 != .never } ?? false
        let vxlanOn = spec.vxlanMode.map { $0 != .never } ?? false
        if ipipOn && vxlanOn {
            v.report(p["vxlanMode"], "IP-in-IP and VXLAN cannot both be enabled on one pool")
        }

        v.selector(spec.nodeSelector, at: p["nodeSelector"])
        v.selector(spec.namespaceSelector, at: p["namespaceSelector"])
        for (field, text) in [("nodeSelector", spec.nodeSelector), ("namespaceSelector", spec.namespaceSelector)] {
            if text.utf8.count > 1024 { v.report(p[field], "the selector is longer than 1024 characters") }
            if text.contains("global(") { v.report(p[field], "global() is not valid in an IP pool's \(field)") }
        }

        if uses.count > 10 { v.report(p["allowedUses"], "at most 10 allowed uses may be listed") }
        for (i, use) in uses.enumerated() where uses[..<i].contains(use) {
            v.report(p["allowedUses"][i], "duplicate allowed use \(use.rawValue)")
        }
        if isLoadBalancer {
            if uses.contains(.workload) || uses.contains(.tunnel) {
                v.report(p["allowedUses"], "LoadBalancer cannot be combined with Workload or Tunnel")
            }
            if ipipOn || vxlanOn {
                v.report(p["allowedUses"], "a LoadBalancer pool cannot have IP-in-IP or VXLAN enabled")
            }
            if spec.disableBGPExport {
                v.report(p["disableBGPExport"], "a LoadBalancer pool cannot disable BGP export")
            }
            if !spec.nodeSelector.isEmpty, spec.nodeSelector != "all()" {
                v.report(p["nodeSelector"], "a LoadBalancer pool must have nodeSelector all()")
            }
        }
        if uses.contains(.tunnel), !spec.namespaceSelector.isEmpty {
            v.report(p["namespaceSelector"], "a pool with allowed use Tunnel cannot have a namespaceSelector")
        }
    }
}

extension IPPoolSpec {
    /// An empty spec, as decoded from `{}`; not valid until ``cidr`` is set.
    public init() { self.init(cidr: "") }
}
