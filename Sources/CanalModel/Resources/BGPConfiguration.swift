/// The spec of a BGP configuration: cluster-wide settings (the resource named `default`) or one
/// node's overrides (`node.<nodename>`).
///
/// Fields follow Calico's `BGPConfigurationSpec` (`api/pkg/apis/projectcalico/v3/bgpconfig.go`).
/// Go pointer fields are optionals; plain Go fields are plain values whose zero means "not set".
public struct BGPConfigurationSpec: ResourceSpec {
    public static var kind: ResourceKind { .bgpConfiguration }

    /// Which addresses BIRD listens on.
    public enum BindMode: String, CalicoEnum {
        /// All addresses.
        case none = "None"
        /// Only the node's own address (`Node.spec.bgp.ipv4Address`/`ipv6Address`).
        case nodeIP = "NodeIP"
    }

    /// How LoadBalancer service addresses are advertised.
    public enum ServiceLoadBalancerAggregation: String, CalicoEnum {
        /// Advertise the configured CIDRs.
        case enabled = "Enabled"
        /// Advertise one /32 (or /128) per service.
        case disabled = "Disabled"
    }

    /// A CIDR block of service addresses to advertise.
    public struct ServiceIPBlock: Sendable, Hashable, Codable {
        /// The block, strictly masked.
        public var cidr: String

        /// A block.
        public init(cidr: String) { self.cidr = cidr }

        private enum CodingKeys: String, CodingKey { case cidr }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cidr = try c.decodeOrZero(String.self, forKey: .cidr)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(cidr, forKey: .cidr)
        }
    }

    /// A named community value.
    public struct Community: Sendable, Hashable, Codable {
        /// The name prefix advertisements refer to.
        public var name: String
        /// `aa:nn` or `aa:nn:mm`.
        public var value: String

        /// A named community.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        private enum CodingKeys: String, CodingKey { case name, value }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeOrZero(String.self, forKey: .name)
            value = try c.decodeOrZero(String.self, forKey: .value)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(name, forKey: .name)
            try c.encodeUnlessZero(value, forKey: .value)
        }
    }

    /// Communities to attach to routes within a CIDR.
    public struct PrefixAdvertisement: Sendable, Hashable, Codable {
        /// The routes concerned, strictly masked.
        public var cidr: String
        /// Community names (from ``BGPConfigurationSpec/communities``) or literal `aa:nn` / `aa:nn:mm` values.
        public var communities: [String]?

        /// A prefix advertisement.
        public init(cidr: String, communities: [String]?) {
            self.cidr = cidr
            self.communities = communities
        }

        private enum CodingKeys: String, CodingKey { case cidr, communities }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cidr = try c.decodeOrZero(String.self, forKey: .cidr)
            communities = try c.decodeIfPresent([String].self, forKey: .communities)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeUnlessZero(cidr, forKey: .cidr)
            if let communities, !communities.isEmpty { try c.encode(communities, forKey: .communities) }
        }
    }

    /// BIRD's log level (`Trace`, `Debug`, `Info`, `Warning`, `Error`, `Fatal`, any case); "" means `Info`.
    public var logSeverityScreen: String
    /// Whether every node peers with every other; nil means true. Only on `default`.
    public var nodeToNodeMeshEnabled: Bool?
    /// The default AS number of nodes; nil means 64512. Only on `default`.
    public var asNumber: ASNumber?
    /// LoadBalancer service address blocks to advertise. Only on `default`.
    public var serviceLoadBalancerIPs: [ServiceIPBlock]
    /// External service address blocks to advertise. Only on `default`.
    public var serviceExternalIPs: [ServiceIPBlock]
    /// Cluster IP service blocks to advertise. Only on `default`.
    public var serviceClusterIPs: [ServiceIPBlock]
    /// How LoadBalancer addresses are advertised; nil means `Enabled`.
    public var serviceLoadBalancerAggregation: ServiceLoadBalancerAggregation?
    /// Named community values.
    public var communities: [Community]
    /// Per-prefix communities.
    public var prefixAdvertisements: [PrefixAdvertisement]
    /// BIRD's listening port; 0 means 179.
    public var listenPort: UInt16
    /// Password of the mesh peerings. Only on `default`, and only with the mesh enabled.
    public var nodeMeshPassword: BGPPassword?
    /// Graceful restart time of the mesh peerings, a Go duration. Only on `default`, with the mesh enabled.
    public var nodeMeshMaxRestartTime: String?
    /// Which addresses BIRD listens on; nil means all.
    public var bindMode: BindMode?
    /// Interfaces whose routes are ignored (names, `*` wildcards allowed inside).
    public var ignoredInterfaces: [String]
    /// The IPv4 address local workloads peer with.
    public var localWorkloadPeeringIPV4: String
    /// The IPv6 address local workloads peer with.
    public var localWorkloadPeeringIPV6: String
    /// Which cluster routes BIRD programs; nil means `EnabledNoEncapOnly`.
    public var programClusterRoutes: ProgramClusterRoutes?
    /// Felix's normal IPv4 workload route metric (1…2147483646); nil means 1024.
    public var ipv4NormalRoutePriority: Int?
    /// Felix's normal IPv6 workload route metric (1…2147483646); nil means 1024.
    public var ipv6NormalRoutePriority: Int?

    /// A BGP configuration spec; every field defaults to "not set".
    public init(
        logSeverityScreen: String = "", nodeToNodeMeshEnabled: Bool? = nil, asNumber: ASNumber? = nil,
        serviceLoadBalancerIPs: [ServiceIPBlock] = [], serviceExternalIPs: [ServiceIPBlock] = [],
        serviceClusterIPs: [ServiceIPBlock] = [],
        serviceLoadBalancerAggregation: ServiceLoadBalancerAggregation? = nil,
        communities: [Community] = [], prefixAdvertisements: [PrefixAdvertisement] = [],
        listenPort: UInt16 = 0, nodeMeshPassword: BGPPassword? = nil, nodeMeshMaxRestartTime: String? = nil,
        bindMode: BindMode? = nil, ignoredInterfaces: [String] = [],
        localWorkloadPeeringIPV4: String = "", localWorkloadPeeringIPV6: String = "",
        programClusterRoutes: ProgramClusterRoutes? = nil,
        ipv4NormalRoutePriority: Int? = nil, ipv6NormalRoutePriority: Int? = nil
    ) {
        self.logSeverityScreen = logSeverityScreen
        self.nodeToNodeMeshEnabled = nodeToNodeMeshEnabled
        self.asNumber = asNumber
        self.serviceLoadBalancerIPs = serviceLoadBalancerIPs
        self.serviceExternalIPs = serviceExternalIPs
        self.serviceClusterIPs = serviceClusterIPs
        self.serviceLoadBalancerAggregation = serviceLoadBalancerAggregation
        self.communities = communities
        self.prefixAdvertisements = prefixAdvertisements
        self.listenPort = listenPort
        self.nodeMeshPassword = nodeMeshPassword
        self.nodeMeshMaxRestartTime = nodeMeshMaxRestartTime
        self.bindMode = bindMode
        self.ignoredInterfaces = ignoredInterfaces
        self.localWorkloadPeeringIPV4 = localWorkloadPeeringIPV4
        self.localWorkloadPeeringIPV6 = localWorkloadPeeringIPV6
        self.programClusterRoutes = programClusterRoutes
        self.ipv4NormalRoutePriority = ipv4NormalRoutePriority
        self.ipv6NormalRoutePriority = ipv6NormalRoutePriority
    }

    private enum CodingKeys: String, CodingKey {
        case logSeverityScreen, nodeToNodeMeshEnabled, asNumber, serviceLoadBalancerIPs, serviceExternalIPs
        case serviceClusterIPs, serviceLoadBalancerAggregation, communities, prefixAdvertisements, listenPort
        case nodeMeshPassword, nodeMeshMaxRestartTime, bindMode, ignoredInterfaces
        case localWorkloadPeeringIPV4, localWorkloadPeeringIPV6, programClusterRoutes
        case ipv4NormalRoutePriority, ipv6NormalRoutePriority
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        logSeverityScreen = try c.decodeOrZero(String.self, forKey: .logSeverityScreen)
        nodeToNodeMeshEnabled = try c.decodeIfPresent(Bool.self, forKey: .nodeToNodeMeshEnabled)
        asNumber = try c.decodeIfPresent(ASNumber.self, forKey: .asNumber)
        serviceLoadBalancerIPs = try c.decodeOrZero([ServiceIPBlock].self, forKey: .serviceLoadBalancerIPs)
        serviceExternalIPs = try c.decodeOrZero([ServiceIPBlock].self, forKey: .serviceExternalIPs)
        serviceClusterIPs = try c.decodeOrZero([ServiceIPBlock].self, forKey: .serviceClusterIPs)
        serviceLoadBalancerAggregation = try c.decodeIfPresent(
            ServiceLoadBalancerAggregation.self, forKey: .serviceLoadBalancerAggregation)
        communities = try c.decodeOrZero([Community].self, forKey: .communities)
        prefixAdvertisements = try c.decodeOrZero([PrefixAdvertisement].self, forKey: .prefixAdvertisements)
        listenPort = try c.decodeOrZero(UInt16.self, forKey: .listenPort)
        nodeMeshPassword = try c.decodeIfPresent(BGPPassword.self, forKey: .nodeMeshPassword)
        nodeMeshMaxRestartTime = try c.decodeIfPresent(String.self, forKey: .nodeMeshMaxRestartTime)
        bindMode = try c.decodeIfPresent(BindMode.self, forKey: .bindMode)
        ignoredInterfaces = try c.decodeOrZero([String].self, forKey: .ignoredInterfaces)
        localWorkloadPeeringIPV4 = try c.decodeOrZero(String.self, forKey: .localWorkloadPeeringIPV4)
        localWorkloadPeeringIPV6 = try c.decodeOrZero(String.self, forKey: .localWorkloadPeeringIPV6)
        programClusterRoutes = try c.decodeIfPresent(ProgramClusterRoutes.self, forKey: .programClusterRoutes)
        ipv4NormalRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv4NormalRoutePriority)
        ipv6NormalRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv6NormalRoutePriority)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeUnlessZero(logSeverityScreen, forKey: .logSeverityScreen)
        try c.encodeIfPresent(nodeToNodeMeshEnabled, forKey: .nodeToNodeMeshEnabled)
        try c.encodeIfPresent(asNumber, forKey: .asNumber)
        try c.encodeUnlessZero(serviceLoadBalancerIPs, forKey: .serviceLoadBalancerIPs)
        try c.encodeUnlessZero(serviceExternalIPs, forKey: .serviceExternalIPs)
        try c.encodeUnlessZero(serviceClusterIPs, forKey: .serviceClusterIPs)
        try c.encodeIfPresent(serviceLoadBalancerAggregation, forKey: .serviceLoadBalancerAggregation)
        try c.encodeUnlessZero(communities, forKey: .communities)
        try c.encodeUnlessZero(prefixAdvertisements, forKey: .prefixAdvertisements)
        try c.encodeUnlessZero(listenPort, forKey: .listenPort)
        try c.encodeIfPresent(nodeMeshPassword, forKey: .nodeMeshPassword)
        try c.encodeIfPresent(nodeMeshMaxRestartTime, forKey: .nodeMeshMaxRestartTime)
        try c.encodeIfPresent(bindMode, forKey: .bindMode)
        try c.encodeUnlessZero(ignoredInterfaces, forKey: .ignoredInterfaces)
        try c.encodeUnlessZero(localWorkloadPeeringIPV4, forKey: .localWorkloadPeeringIPV4)
        try c.encodeUnlessZero(localWorkloadPeeringIPV6, forKey: .localWorkloadPeeringIPV6)
        try c.encodeIfPresent(programClusterRoutes, forKey: .programClusterRoutes)
        try c.encodeIfPresent(ipv4NormalRoutePriority, forKey: .ipv4NormalRoutePriority)
        try c.encodeIfPresent(ipv6NormalRoutePriority, forKey: .ipv6NormalRoutePriority)
    }

    // MARK: values in effect

    /// The AS number Calico uses when none is configured.
    public static let defaultASNumber: ASNumber = 64512
    /// The BGP port Calico uses when none is configured.
    public static let defaultListenPort: UInt16 = 179

    /// Whether the node-to-node mesh is on (true unless set to false).
    public var effectiveNodeToNodeMeshEnabled: Bool { nodeToNodeMeshEnabled ?? true }
    /// The default AS number in effect (64512 unless set).
    public var effectiveASNumber: ASNumber { asNumber ?? Self.defaultASNumber }
    /// The listening port in effect (179 unless set).
    public var effectiveListenPort: UInt16 { listenPort == 0 ? Self.defaultListenPort : listenPort }

    /// The community values of a prefix advertisement, with names resolved against ``communities``;
    /// entries that are neither a defined name nor a valid literal are skipped.
    public func resolvedCommunities(of advertisement: PrefixAdvertisement) -> [BGPCommunity] {
        (advertisement.communities ?? []).compactMap { entry in
            if let literal = BGPCommunity(entry) { return literal }
            return communities.first { $0.name == entry }.flatMap { BGPCommunity($0.value) }
        }
    }

    /// Fills in the CRD defaults that Calico writes when it validates a BGPConfiguration
    /// (`logSeverityScreen: Info`, `serviceLoadBalancerAggregation: Enabled`) and writes durations in
    /// Go's canonical form.
    ///
    /// `nodeToNodeMeshEnabled` (true), `asNumber` (64512) and `listenPort` (179) are not written by
    /// Calico: they apply only when the configuration is read, so they are left unset here and
    /// available as ``effectiveNodeToNodeMeshEnabled``, ``effectiveASNumber`` and ``effectiveListenPort``.
    public static func applyDefaults(to config: inout Resource<BGPConfigurationSpec>) {
        if config.spec.logSeverityScreen.isEmpty { config.spec.logSeverityScreen = "Info" }
        if config.spec.serviceLoadBalancerAggregation == nil { config.spec.serviceLoadBalancerAggregation = .enabled }
        if let d = config.spec.nodeMeshMaxRestartTime, let canonical = GoDuration.canonical(d) {
            config.spec.nodeMeshMaxRestartTime = canonical
        }
    }

    /// Calico's BGPConfiguration rules: the Go validator, the CRD schema and CEL rules, and the
    /// client's "only on `default`" fields (`clientv3/bgpconfig.go` `ValidateDefaultOnlyFields`).
    public static func validate(_ config: Resource<BGPConfigurationSpec>, into v: inout Validator) {
        let spec = config.spec
        let p = FieldPath("spec")

        v.logSeverity(spec.logSeverityScreen, at: p["logSeverityScreen"])

        for (key, blocks) in [
            ("serviceLoadBalancerIPs", spec.serviceLoadBalancerIPs), ("serviceExternalIPs", spec.serviceExternalIPs),
            ("serviceClusterIPs", spec.serviceClusterIPs),
        ] {
            for (i, block) in blocks.enumerated() where !block.cidr.isEmpty {
                v.cidr(block.cidr, at: p[key][i]["cidr"], strict: true)
            }
        }

        if spec.communities.count > 500 { v.report(p["communities"], "at most 500 communities are allowed") }
        for (i, community) in spec.communities.enumerated() {
            let cp = p["communities"][i]
            if community.name.isEmpty {
                v.report(cp["name"], "a community needs a name")
            } else {
                v.name(community.name, at: cp["name"])
            }
            v.communityValue(community.value, at: cp["value"])
        }

        if spec.prefixAdvertisements.count > 500 {
            v.report(p["prefixAdvertisements"], "at most 500 prefix advertisements are allowed")
        }
        let names = Set(spec.communities.map(\.name))
        for (i, adv) in spec.prefixAdvertisements.enumerated() {
            let ap = p["prefixAdvertisements"][i]
            if adv.cidr.isEmpty {
                v.report(ap["cidr"], "a prefix advertisement needs a CIDR")
            } else {
                v.cidr(adv.cidr, at: ap["cidr"], strict: true)
            }
            guard let list = adv.communities else {
                v.report(ap["communities"], "a prefix advertisement needs a list of communities")
                continue
            }
            if list.count > 50 { v.report(ap["communities"], "at most 50 communities per prefix are allowed") }
            for (j, entry) in list.enumerated() {
                if BGPCommunity.hasCommunityShape(entry) {
                    v.communityValue(entry, at: ap["communities"][j])
                } else if !names.contains(entry) {
                    v.report(ap["communities"][j], "\"\(entry)\" is neither a community defined in spec.communities nor a value aa:nn or aa:nn:mm")
                }
            }
        }
        if !spec.communities.isEmpty, spec.prefixAdvertisements.isEmpty {
            v.report(p["communities"], "communities are defined but not used in prefixAdvertisements")
        }

        if spec.nodeToNodeMeshEnabled == false {
            if spec.nodeMeshPassword != nil {
                v.report(p["nodeMeshPassword"], "nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false")
            }
            if spec.nodeMeshMaxRestartTime != nil {
                v.report(p["nodeMeshMaxRestartTime"], "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false")
            }
        }
        spec.nodeMeshPassword?.validate(at: p["nodeMeshPassword"], into: &v)
        v.goDuration(spec.nodeMeshMaxRestartTime, at: p["nodeMeshMaxRestartTime"])

        for (i, name) in spec.ignoredInterfaces.enumerated() {
            if name == "*" || !Self.isIgnoredInterfacePattern(name) {
                v.report(p["ignoredInterfaces"][i], "\"\(name)\" is not an interface name or pattern: 1 to 15 letters, digits, '_', '.', '-' or '*', and not \"*\" alone")
            }
            if spec.ignoredInterfaces[..<i].contains(name) { v.report(p["ignoredInterfaces"][i], "duplicate interface \"\(name)\"") }
        }

        if !spec.localWorkloadPeeringIPV4.isEmpty, v.ip(spec.localWorkloadPeeringIPV4, at: p["localWorkloadPeeringIPV4"])
            .map({ $0.family != .v4 }) == true {
            v.report(p["localWorkloadPeeringIPV4"], "\"\(spec.localWorkloadPeeringIPV4)\" is not an IPv4 address")
        }
        if !spec.localWorkloadPeeringIPV6.isEmpty, v.ip(spec.localWorkloadPeeringIPV6, at: p["localWorkloadPeeringIPV6"])
            .map({ $0.family != .v6 }) == true {
            v.report(p["localWorkloadPeeringIPV6"], "\"\(spec.localWorkloadPeeringIPV6)\" is not an IPv6 address")
        }
        for (key, value) in [("ipv4NormalRoutePriority", spec.ipv4NormalRoutePriority), ("ipv6NormalRoutePriority", spec.ipv6NormalRoutePriority)] {
            if let value, !(1...2_147_483_646).contains(value) {
                v.report(p[key], "\(value) is out of range: 1 to 2147483646")
            }
        }

        // Fields only the cluster-wide configuration may set.
        if config.metadata.name != "default" {
            let why = "can only be set on the BGPConfiguration named \"default\""
            if spec.nodeToNodeMeshEnabled != nil { v.report(p["nodeToNodeMeshEnabled"], why) }
            if spec.asNumber != nil { v.report(p["asNumber"], why) }
            if !spec.serviceLoadBalancerIPs.isEmpty { v.report(p["serviceLoadBalancerIPs"], why) }
            if !spec.serviceExternalIPs.isEmpty { v.report(p["serviceExternalIPs"], why) }
            if !spec.serviceClusterIPs.isEmpty { v.report(p["serviceClusterIPs"], why) }
            if spec.nodeMeshPassword != nil { v.report(p["nodeMeshPassword"], why) }
            if spec.nodeMeshMaxRestartTime != nil { v.report(p["nodeMeshMaxRestartTime"], why) }
        }
    }

    /// `^[a-zA-Z0-9_.*-]{1,15}$`.
    static func isIgnoredInterfacePattern(_ s: String) -> Bool {
        s.utf8.count >= 1 && s.utf8.count <= 15 && s.unicodeScalars.allSatisfy {
            $0.isASCII && (($0.properties.isAlphabetic || ("0"..."9").contains($0)) || "_.*-".unicodeScalars.contains($0))
        }
    }
}

extension Validator {
    /// A log level as Calico's CRDs allow it: "" or Trace, Debug, Info, Warning, Error, Fatal in any case.
    mutating func logSeverity(_ s: String?, at path: FieldPath) {
        guard let s, !s.isEmpty else { return }
        let allowed = ["trace", "debug", "info", "warning", "error", "fatal"]
        if !allowed.contains(s.lowercased()) {
            report(path, "\"\(s)\" is not a log level: Trace, Debug, Info, Warning, Error or Fatal")
        }
    }

    /// A community value `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts).
    mutating func communityValue(_ s: String, at path: FieldPath) {
        if s.isEmpty {
            report(path, "a community value is required")
        } else if s.utf8.count > 40 || !BGPCommunity.hasCommunityShape(s) {
            report(path, "\"\(s)\" is not a community value: use aa:nn or aa:nn:mm")
        } else if BGPCommunity(s) == nil {
            let bits = s.split(separator: ":").count == 2 ? 16 : 32
            report(path, "\"\(s)\" is not a valid community value: each part must be a \(bits)-bit number")
        }
    }
}
