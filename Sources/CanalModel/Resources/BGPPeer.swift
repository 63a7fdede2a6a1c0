/// The spec of a BGP peering: which Calico nodes peer (`node`, `nodeSelector`, or all) with what
/// (`peerIP` and `asNumber`, other Calico nodes by `peerSelector`, or local workloads by
/// `localWorkloadSelector`).
///
/// Fields follow Calico's `BGPPeerSpec` (`api/pkg/apis/projectcalico/v3/bgppeer.go`).
public struct BGPPeerSpec: ResourceSpec {
    public static var kind: ResourceKind { .bgpPeer }

    /// How the next hop of routes sent to the peer is set.
    public enum NextHopMode: String, CalicoEnum {
        /// BGP's usual behaviour.
        case auto = "Auto"
        /// `next hop self`.
        case `self` = "Self"
        /// `next hop keep`.
        case keep = "Keep"
    }

    /// Whether the peering is given a source address.
    public enum SourceAddress: String, CalicoEnum {
        /// The node's IP (the default).
        case useNodeIP = "UseNodeIP"
        /// No source address.
        case none = "None"
    }

    /// Whether the reverse peering from selected nodes is generated automatically.
    public enum ReversePeering: String, CalicoEnum {
        /// Generated automatically (the default).
        case auto = "Auto"
        /// Needs its own BGPPeer.
        case manual = "Manual"
    }

    /// The one node that gets this peering.
    public var node: String
    /// The nodes that get this peering.
    public var nodeSelector: String
    /// The peer's address: `IP`, `IPv4:port` or `[IPv6]:port`.
    public var peerIP: String
    /// The peer's AS number; nil means not set (Go's 0).
    public var asNumber: ASNumber?
    /// The local AS number for this peering; nil means the node's or the default.
    public var localASNumber: ASNumber?
    /// Other Calico nodes to peer with.
    public var peerSelector: String
    /// Deprecated: keep the next hop (use ``nextHopMode``).
    public var keepOriginalNextHop: Bool
    /// How the next hop is set.
    public var nextHopMode: NextHopMode?
    /// The peering's password.
    public var password: BGPPassword?
    /// Whether to set a source address; nil means `UseNodeIP`.
    public var sourceAddress: SourceAddress?
    /// Graceful restart time, a Go duration.
    public var maxRestartTime: String?
    /// Keepalive time, a Go duration.
    public var keepaliveTime: String?
    /// How many times the local AS may appear in received paths.
    public var numAllowedLocalASNumbers: Int32?
    /// GTSM hop count.
    public var ttlSecurity: UInt8?
    /// A gateway through which the peer is reached (adds a /32 or /128 static route).
    public var reachableBy: String
    /// BGPFilter names applied to the peering, in order.
    public var filters: [String]
    /// Local workloads to peer with.
    public var localWorkloadSelector: String
    /// Whether the reverse peering is generated; nil means `Auto`.
    public var reversePeering: ReversePeering?

    /// A peering spec; every field defaults to "not set".
    public init(
        node: String = "", nodeSelector: String = "", peerIP: String = "", asNumber: ASNumber? = nil,
        localASNumber: ASNumber? = nil, peerSelector: String = "", keepOriginalNextHop: Bool = false,
        nextHopMode: NextHopMode? = nil, password: BGPPassword? = nil, sourceAddress: SourceAddress? = nil,
        maxRestartTime: String? = nil, keepaliveTime: String? = nil, numAllowedLocalASNumbers: Int32? = nil,
        ttlSecurity: UInt8? = nil, reachableBy: String = "", filters: [String] = [],
        localWorkloadSelector: String = "", reversePeering: ReversePeering? = nil
    ) {
        self.node = node
        self.nodeSelector = nodeSelector
        self.peerIP = peerIP
        self.asNumber = asNumber
        self.localASNumber = localASNumber
        self.peerSelector = peerSelector
        self.keepOriginalNextHop = keepOriginalNextHop
        self.nextHopMode = nextHopMode
        self.password = password
        self.sourceAddress = sourceAddress
        self.maxRestartTime = maxRestartTime
        self.keepaliveTime = keepaliveTime
        self.numAllowedLocalASNumbers = numAllowedLocalASNumbers
        self.ttlSecurity = ttlSecurity
        self.reachableBy = reachableBy
        self.filters = filters
        self.localWorkloadSelector = localWorkloadSelector
        self.reversePeering = reversePeering
    }

    private enum CodingKeys: String, CodingKey {
        case node, nodeSelector, peerIP, asNumber, localASNumber, peerSelector, keepOriginalNextHop, nextHopMode
        case password, sourceAddress, maxRestartTime, keepaliveTime, numAllowedLocalASNumbers, ttlSecurity
        case reachableBy, filters, localWorkloadSelector, reversePeering
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decodeOrZero(String.self, forKey: .node)
        nodeSelector = try c.decodeOrZero(String.self, forKey: .nodeSelector)
        peerIP = try c.decodeOrZero(String.self, forKey: .peerIP)
        // A plain (non-pointer) field in Calico: 0 is "not set".
        asNumber = try c.decodeIfPresent(ASNumber.self, forKey: .asNumber).flatMap { $0.rawValue == 0 ? nil : $0 }
        localASNumber = try c.decodeIfPresent(ASNumber.self, forKey: .localASNumber)
        peerSelector = try c.decodeOrZero(String.self, forKey: .peerSelector)
        keepOriginalNextHop = try c.decodeOrZero(Bool.self, forKey: .keepOriginalNextHop)
        nextHopMode = try c.decodeIfPresent(NextHopMode.self, forKey: .nextHopMode)
        password = try c.decodeIfPresent(BGPPassword.self, forKey: .password)
        sourceAddress = try c.decodeIfPresent(SourceAddress.self, forKey: .sourceAddress)
        maxRestartTime = try c.decodeIfPresent(String.self, forKey: .maxRestartTime)
        keepaliveTime = try c.decodeIfPresent(String.self, forKey: .keepaliveTime)
        numAllowedLocalASNumbers = try c.decodeIfPresent(Int32.self, forKey: .numAllowedLocalASNumbers)
        ttlSecurity = try c.decodeIfPresent(UInt8.self, forKey: .ttlSecurity)
        reachableBy = try c.decodeOrZero(String.self, forKey: .reachableBy)
        filters = try c.decodeOrZero([String].self, forKey: .filters)
        localWorkloadSelector = try c.decodeOrZero(String.self, forKey: .localWorkloadSelector)
        reversePeering = try c.decodeIfPresent(ReversePeering.self, forKey: .reversePeering)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeUnlessZero(node, forKey: .node)
        try c.encodeUnlessZero(nodeSelector, forKey: .nodeSelector)
        try c.encodeUnlessZero(peerIP, forKey: .peerIP)
        if let asNumber, asNumber.rawValue != 0 { try c.encode(asNumber, forKey: .asNumber) }
        try c.encodeIfPresent(localASNumber, forKey: .localASNumber)
        try c.encodeUnlessZero(peerSelector, forKey: .peerSelector)
        try c.encodeUnlessZero(keepOriginalNextHop, forKey: .keepOriginalNextHop)
        try c.encodeIfPresent(nextHopMode, forKey: .nextHopMode)
        try c.encodeIfPresent(password, forKey: .password)
        try c.encodeIfPresent(sourceAddress, forKey: .sourceAddress)
        try c.encodeIfPresent(maxRestartTime, forKey: .maxRestartTime)
        try c.encodeIfPresent(keepaliveTime, forKey: .keepaliveTime)
        try c.encodeIfPresent(numAllowedLocalASNumbers, forKey: .numAllowedLocalASNumbers)
        try c.encodeIfPresent(ttlSecurity, forKey: .ttlSecurity)
        try c.encodeUnlessZero(reachableBy, forKey: .reachableBy)
        try c.encodeUnlessZero(filters, forKey: .filters)
        try c.encodeUnlessZero(localWorkloadSelector, forKey: .localWorkloadSelector)
        try c.encodeIfPresent(reversePeering, forKey: .reversePeering)
    }

    /// The peer's address and port from ``peerIP`` (`IP`, `IPv4:port` or `[IPv6]:port`); the port
    /// is nil when not given. Nil when ``peerIP`` is empty or malformed.
    public var peerAddress: (ip: IPAddress, port: UInt16?)? { Self.parsePeerIP(peerIP) }

    /// Parses a peer address as Calico does (`processIPPort`): an IP, `a.b.c.d:port` or `[v6]:port`,
    /// the port from 1 to 65535.
    static func parsePeerIP(_ text: String) -> (ip: IPAddress, port: UInt16?)? {
        guard !text.isEmpty else { return nil }
        func port(_ s: Substring) -> UInt16? {
            guard !s.isEmpty, s.utf8.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }),
                let n = UInt16(s), n >= 1 else { return nil }
            return n
        }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let p = port(rest.dropFirst()),
                let ip = IPAddress(text[text.index(after: text.startIndex)..<close])
            else { return nil }
            return (ip, p)
        }
        if let ip = IPAddress(text) { return (ip, nil) }
        // a.b.c.d:port
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = IPAddress(parts[0]), ip.family == .v4, let p = port(parts[1]) else { return nil }
        return (ip, p)
    }

    /// Durations are written in Go's canonical form, as Calico stores them.
    public static func applyDefaults(to peer: inout Resource<BGPPeerSpec>) {
        if let d = peer.spec.maxRestartTime, let c = GoDuration.canonical(d) { peer.spec.maxRestartTime = c }
        if let d = peer.spec.keepaliveTime, let c = GoDuration.canonical(d) { peer.spec.keepaliveTime = c }
    }

    /// Calico's BGPPeer rules: the Go validator (`validateBGPPeerSpec`, field tags) and the CRD's CEL rules.
    public static func validate(_ peer: Resource<BGPPeerSpec>, into v: inout Validator) {
        let s = peer.spec
        let p = FieldPath("spec")

        if !s.node.isEmpty { v.name(s.node, at: p["node"]) }
        for (key, text) in [("nodeSelector", s.nodeSelector), ("peerSelector", s.peerSelector), ("localWorkloadSelector", s.localWorkloadSelector)] {
            v.selector(text, at: p[key])
            if text.utf8.count > 1024 { v.report(p[key], "the selector is longer than 1024 characters") }
        }

        var peerAddress: IPAddress?
        if !s.peerIP.isEmpty {
            if s.peerIP.utf8.count > 64 {
                v.report(p["peerIP"], "the peer address is longer than 64 characters")
            } else if let parsed = parsePeerIP(s.peerIP) {
                peerAddress = parsed.ip
            } else {
                v.report(p["peerIP"], "\"\(s.peerIP)\" is not a peer address: use <IP>, <IPv4>:<port> or [<IPv6>]:<port>, with a port from 1 to 65535")
            }
        }

        if !s.node.isEmpty, !s.nodeSelector.isEmpty {
            v.report(p["nodeSelector"], "node and nodeSelector cannot both be set")
        }
        if !s.peerIP.isEmpty, !s.peerSelector.isEmpty {
            v.report(p["peerSelector"], "peerIP and peerSelector cannot both be set")
        }
        if !s.peerSelector.isEmpty, s.asNumber != nil {
            v.report(p["asNumber"], "asNumber must be empty when peerSelector is set (the AS number comes from the selected nodes)")
        }
        if !s.localWorkloadSelector.isEmpty {
            if !s.peerIP.isEmpty { v.report(p["peerIP"], "peerIP must be empty when localWorkloadSelector is set") }
            if !s.peerSelector.isEmpty { v.report(p["peerSelector"], "peerSelector must be empty when localWorkloadSelector is set") }
            if s.asNumber == nil { v.report(p["asNumber"], "asNumber is required when localWorkloadSelector is set") }
        }

        if !s.reachableBy.isEmpty {
            if s.reachableBy.utf8.count > 64 {
                v.report(p["reachableBy"], "reachableBy is longer than 64 characters")
            } else if let gateway = v.ip(s.reachableBy, at: p["reachableBy"]), let peerAddress,
                gateway.family != peerAddress.family {
                v.report(p["reachableBy"], "reachableBy (\(gateway.family)) and peerIP (\(peerAddress.family)) must be the same address family")
            }
            if s.peerIP.isEmpty { v.report(p["reachableBy"], "reachableBy must be empty when peerIP is empty") }
        }

        if s.keepOriginalNextHop, s.nextHopMode != nil {
            v.report(p["keepOriginalNextHop"], "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode")
        }
        s.password?.validate(at: p["password"], into: &v)
        v.goDuration(s.maxRestartTime, at: p["maxRestartTime"])
        v.goDuration(s.keepaliveTime, at: p["keepaliveTime"])
        for (i, filter) in s.filters.enumerated() { v.name(filter, at: p["filters"][i]) }
    }
}
