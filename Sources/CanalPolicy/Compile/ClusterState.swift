public import CanalModel

/// Everything the compiler reads: the cluster's policy-relevant resources.
///
/// Endpoints of every node are given (IP sets take their members cluster-wide); the compiler
/// picks the node's own endpoints by `spec.node`.
public struct ClusterState: Sendable, Hashable {
    /// Workload endpoints of every node.
    public var workloadEndpoints: [WorkloadEndpoint]
    /// Host endpoints of every node.
    public var hostEndpoints: [HostEndpoint]
    /// Profiles (rules and `labelsToApply`).
    public var profiles: [Profile]
    /// Tiers; the built-in ones are assumed when absent.
    public var tiers: [Tier]
    /// Namespaced policies.
    public var networkPolicies: [NetworkPolicy]
    /// Global policies.
    public var globalNetworkPolicies: [GlobalNetworkPolicy]
    /// Namespaced network sets.
    public var networkSets: [NetworkSet]
    /// Global network sets.
    public var globalNetworkSets: [GlobalNetworkSet]

    /// A cluster state from its parts.
    public init(
        workloadEndpoints: [WorkloadEndpoint] = [], hostEndpoints: [HostEndpoint] = [], profiles: [Profile] = [],
        tiers: [Tier] = [], networkPolicies: [NetworkPolicy] = [], globalNetworkPolicies: [GlobalNetworkPolicy] = [],
        networkSets: [NetworkSet] = [], globalNetworkSets: [GlobalNetworkSet] = []
    ) {
        self.workloadEndpoints = workloadEndpoints
        self.hostEndpoints = hostEndpoints
        self.profiles = profiles
        self.tiers = tiers
        self.networkPolicies = networkPolicies
        self.globalNetworkPolicies = globalNetworkPolicies
        self.networkSets = networkSets
        self.globalNetworkSets = globalNetworkSets
    }

    /// The policy-relevant resources among `resources` (other kinds are ignored).
    public init(resources: [any AnyResource]) {
        self.init()
        for resource in resources {
            switch resource {
            case let r as WorkloadEndpoint: workloadEndpoints.append(r)
            case let r as HostEndpoint: hostEndpoints.append(r)
            case let r as Profile: profiles.append(r)
            case let r as Tier: tiers.append(r)
            case let r as NetworkPolicy: networkPolicies.append(r)
            case let r as GlobalNetworkPolicy: globalNetworkPolicies.append(r)
            case let r as NetworkSet: networkSets.append(r)
            case let r as GlobalNetworkSet: globalNetworkSets.append(r)
            default: break
            }
        }
    }
}

/// The Felix settings that shape the dataplane (from `FelixConfiguration`).
public struct DataplaneConfiguration: Sendable, Hashable {
    /// What `cali-wl-to-host` does with workload → host traffic its egress policy let through.
    public enum EndpointToHostAction: String, Sendable, Hashable {
        /// Drop it (Felix's default).
        case drop = "Drop"
        /// Accept it.
        case accept = "Accept"
        /// Return to `INPUT` (host endpoint policy is not applied; `INPUT`'s own rules decide).
        case `return` = "Return"
    }

    /// The mark bits, allocated lowest first from the mark mask as Felix does.
    public struct Marks: Sendable, Hashable {
        /// Set by an allow.
        public var accept: UInt32
        /// Set by a pass.
        public var pass: UInt32
        /// First scratch bit of rule OR-blocks.
        public var scratch0: UInt32
        /// Second scratch bit of rule OR-blocks.
        public var scratch1: UInt32

        /// The bits Felix takes from `mask` (default `0xffff0000`: accept `0x10000`, pass
        /// `0x20000`, drop `0x40000` (unused here), scratch0 `0x80000`, scratch1 `0x100000`);
        /// nil when the mask has fewer than five bits.
        public init?(mask: UInt32) {
            var bits: [UInt32] = []
            for shift in 0..<32 where mask & (1 << shift) != 0 { bits.append(1 << shift) }
            guard bits.count >= 5 else { return nil }
            accept = bits[0]
            pass = bits[1]
            scratch0 = bits[3]
            scratch1 = bits[4]
        }

        /// Every bit the policy chains use.
        public var all: UInt32 { accept | pass | scratch0 | scratch1 }
    }

    /// The mark bits.
    public var marks: Marks
    /// Workload interface prefixes (`cali`).
    public var interfacePrefixes: [String]
    /// Workload → host action.
    public var endpointToHostAction: EndpointToHostAction
    /// The prefix of `Log` rules (`calico-packet`).
    public var logPrefix: String
    /// Skip the conntrack INVALID drop.
    public var disableConntrackInvalidCheck: Bool
    /// Let workloads send VXLAN (UDP 4789) packets.
    public var allowVXLANFromWorkloads: Bool
    /// Let workloads send IP-in-IP packets.
    public var allowIPIPFromWorkloads: Bool
    /// The VXLAN port dropped from workloads.
    public var vxlanPort: UInt16
    /// Host ports always open inbound on host endpoints (`cali-failsafe-in`), whatever the policy.
    public var failsafeInboundHostPorts: [FelixConfigurationSpec.ProtoPort]
    /// Host ports always open outbound from host endpoints (`cali-failsafe-out`).
    public var failsafeOutboundHostPorts: [FelixConfigurationSpec.ProtoPort]

    /// Felix's default `FailsafeInboundHostPorts`: SSH, DHCP, BGP, etcd, Typha, the Kubernetes API.
    public static let defaultFailsafeInboundHostPorts: [FelixConfigurationSpec.ProtoPort] =
        [("tcp", 22), ("udp", 68), ("tcp", 179), ("tcp", 2379), ("tcp", 2380), ("tcp", 5473), ("tcp", 6443), ("tcp", 6666), ("tcp", 6667)]
            .map { FelixConfigurationSpec.ProtoPort(protocol: $0.0, port: $0.1) }
    /// Felix's default `FailsafeOutboundHostPorts`: DNS, DHCP, BGP, etcd, Typha, the Kubernetes API.
    public static let defaultFailsafeOutboundHostPorts: [FelixConfigurationSpec.ProtoPort] =
        [("udp", 53), ("udp", 67), ("tcp", 179), ("tcp", 2379), ("tcp", 2380), ("tcp", 5473), ("tcp", 6443), ("tcp", 6666), ("tcp", 6667)]
            .map { FelixConfigurationSpec.ProtoPort(protocol: $0.0, port: $0.1) }

    /// Felix's defaults.
    public static let `default` = DataplaneConfiguration()

    /// A configuration; the defaults are Felix's.
    public init(
        marks: Marks = Marks(mask: 0xffff_0000)!, interfacePrefixes: [String] = ["cali"],
        endpointToHostAction: EndpointToHostAction = .drop, logPrefix: String = "calico-packet",
        disableConntrackInvalidCheck: Bool = false, allowVXLANFromWorkloads: Bool = false,
        allowIPIPFromWorkloads: Bool = false, vxlanPort: UInt16 = 4789,
        failsafeInboundHostPorts: [FelixConfigurationSpec.ProtoPort] = DataplaneConfiguration.defaultFailsafeInboundHostPorts,
        failsafeOutboundHostPorts: [FelixConfigurationSpec.ProtoPort] = DataplaneConfiguration.defaultFailsafeOutboundHostPorts
    ) {
        self.marks = marks
        self.interfacePrefixes = interfacePrefixes
        self.endpointToHostAction = endpointToHostAction
        self.logPrefix = logPrefix
        self.disableConntrackInvalidCheck = disableConntrackInvalidCheck
        self.allowVXLANFromWorkloads = allowVXLANFromWorkloads
        self.allowIPIPFromWorkloads = allowIPIPFromWorkloads
        self.vxlanPort = vxlanPort
        self.failsafeInboundHostPorts = failsafeInboundHostPorts
        self.failsafeOutboundHostPorts = failsafeOutboundHostPorts
    }

    /// The settings of a `FelixConfiguration` spec (unset fields keep Felix's defaults).
    ///
    /// - Throws: ``PolicyCompileError`` when the mark mask has fewer than five bits.
    public init(_ spec: FelixConfigurationSpec) throws(PolicyCompileError) {
        self.init()
        if let mask = spec.iptablesMarkMask {
            guard let marks = Marks(mask: UInt32(truncatingIfNeeded: mask)) else {
                throw PolicyCompileError("iptablesMarkMask \(mask) has fewer than five bits")
            }
            self.marks = marks
        }
        let prefixes = spec.interfacePrefix.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        if !prefixes.isEmpty { interfacePrefixes = prefixes }
        switch spec.defaultEndpointToHostAction.lowercased() {
        case "accept": endpointToHostAction = .accept
        case "return": endpointToHostAction = .return
        default: endpointToHostAction = .drop
        }
        if !spec.logPrefix.isEmpty { logPrefix = spec.logPrefix }
        disableConntrackInvalidCheck = spec.disableConntrackInvalidCheck ?? false
        allowVXLANFromWorkloads = spec.allowVXLANPacketsFromWorkloads ?? false
        allowIPIPFromWorkloads = spec.allowIPIPPacketsFromWorkloads ?? false
        if let port = spec.vxlanPort, let p = UInt16(exactly: port) { vxlanPort = p }
        if let ports = spec.failsafeInboundHostPorts { failsafeInboundHostPorts = ports }
        if let ports = spec.failsafeOutboundHostPorts { failsafeOutboundHostPorts = ports }
    }
}

/// A problem that stops compilation (the inputs, not the compiler, are at fault).
public struct PolicyCompileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let description: String

    /// An error with a message.
    public init(_ description: String) { self.description = description }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
