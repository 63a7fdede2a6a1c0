// Generated from the field list of Calico's `FelixConfigurationSpec` (api/pkg/apis/projectcalico/v3/felixconfig.go):
// JSON names, order, types and CRD constraints. Edit by hand only together with FelixConfiguration+Types.swift.

extension FelixConfigurationSpec {
    /// Calico's `IptablesBackend` values.
    public enum IptablesBackend: String, CalicoEnum {
        /// `Legacy`.
        case legacy = "Legacy"
        /// `NFT`.
        case nft = "NFT"
        /// `Auto`.
        case auto = "Auto"
    }

    /// Calico's `NFTablesMode` values.
    public enum NFTablesMode: String, CalicoEnum {
        /// `Disabled`.
        case disabled = "Disabled"
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Auto`.
        case auto = "Auto"
    }

    /// Calico's `NFTablesFlowTableOffload` values.
    public enum NFTablesFlowTableOffload: String, CalicoEnum {
        /// `All`.
        case all = "All"
        /// `Disabled`.
        case disabled = "Disabled"
    }

    /// Calico's `AWSSrcDstCheckOption` values.
    public enum AWSSrcDstCheckOption: String, CalicoEnum {
        /// `DoNothing`.
        case doNothing = "DoNothing"
        /// `Enable`.
        case enable = "Enable"
        /// `Disable`.
        case disable = "Disable"
    }

    /// Calico's `BPFAttachOption` values.
    public enum BPFAttachOption: String, CalicoEnum {
        /// `TC`.
        case tc = "TC"
        /// `TCX`.
        case tcx = "TCX"
        /// `Netkit`.
        case netkit = "Netkit"
    }

    /// Calico's `FloatingIPType` values.
    public enum FloatingIPType: String, CalicoEnum {
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Disabled`.
        case disabled = "Disabled"
    }

    /// Calico's `LocalSubnetL2ReachabilityMode` values.
    public enum LocalSubnetL2ReachabilityMode: String, CalicoEnum {
        /// `Disabled`.
        case disabled = "Disabled"
        /// `PodsAndLoadBalancers`.
        case podsAndLoadBalancers = "PodsAndLoadBalancers"
    }

    /// Calico's `BPFHostNetworkedNATType` values.
    public enum BPFHostNetworkedNATType: String, CalicoEnum {
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Disabled`.
        case disabled = "Disabled"
    }

    /// Calico's `BPFConnectTimeLBType` values.
    public enum BPFConnectTimeLBType: String, CalicoEnum {
        /// `TCP`.
        case tcp = "TCP"
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Disabled`.
        case disabled = "Disabled"
    }

    /// Calico's `BPFOverlayHostSourceIPType` values.
    public enum BPFOverlayHostSourceIPType: String, CalicoEnum {
        /// `TunnelAddress`.
        case tunnelAddress = "TunnelAddress"
        /// `HostAddress`.
        case hostAddress = "HostAddress"
    }

    /// Calico's `BPFConntrackMode` values.
    public enum BPFConntrackMode: String, CalicoEnum {
        /// `Auto`.
        case auto = "Auto"
        /// `Userspace`.
        case userspace = "Userspace"
        /// `BPFProgram`.
        case bpfProgram = "BPFProgram"
    }

    /// Calico's `BPFJITHardeningType` values.
    public enum BPFJITHardeningType: String, CalicoEnum {
        /// `Auto`.
        case auto = "Auto"
        /// `Strict`.
        case strict = "Strict"
    }

    /// Calico's `WindowsManageFirewallRulesMode` values.
    public enum WindowsManageFirewallRulesMode: String, CalicoEnum {
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Disabled`.
        case disabled = "Disabled"
    }

    /// Calico's `FlowLogsPolicyEvaluationModeType` values.
    public enum FlowLogsPolicyEvaluationModeType: String, CalicoEnum {
        /// `None`.
        case `none` = "None"
        /// `Continuous`.
        case continuous = "Continuous"
    }

    /// Calico's `NATOutgoingExclusionsType` values.
    public enum NATOutgoingExclusionsType: String, CalicoEnum {
        /// `IPPoolsOnly`.
        case ipPoolsOnly = "IPPoolsOnly"
        /// `IPPoolsAndHostIPs`.
        case ipPoolsAndHostIPs = "IPPoolsAndHostIPs"
    }

    /// Calico's `PrometheusMetricsClientAuthType` values.
    public enum PrometheusMetricsClientAuthType: String, CalicoEnum {
        /// `RequireAndVerifyClientCert`.
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
        /// `RequireAnyClientCert`.
        case requireAnyClientCert = "RequireAnyClientCert"
        /// `VerifyClientCertIfGiven`.
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        /// `NoClientCert`.
        case noClientCert = "NoClientCert"
    }

    /// Calico's `IstioAmbientMode` values.
    public enum IstioAmbientMode: String, CalicoEnum {
        /// `Enabled`.
        case enabled = "Enabled"
        /// `Disabled`.
        case disabled = "Disabled"
    }

}

/// The spec of a Felix configuration: cluster-wide settings (`default`), one node's overrides
/// (`node.<nodename>`), or settings for the nodes a ``nodeSelector`` picks (any other name).
///
/// Every field of Calico's `FelixConfigurationSpec` is here, under its JSON name and in Calico's order, so
/// real manifests decode strictly. Pointer fields in Go are optionals; plain Go strings are `String` with ""
/// meaning "not set"; durations are kept as Go duration strings. Build one with ``init()`` and set fields.
public struct FelixConfigurationSpec: ResourceSpec {
    public static var kind: ResourceKind { .felixConfiguration }

    /// Felix's `NodeSelector` setting.
    public var nodeSelector: String? = nil
    /// Felix's `UseInternalDataplaneDriver` setting.
    public var useInternalDataplaneDriver: Bool? = nil
    /// Felix's `DataplaneDriver` setting.
    public var dataplaneDriver: String = ""
    /// Felix's `DataplaneWatchdogTimeout` setting: a Go duration string such as `90s`.
    public var dataplaneWatchdogTimeout: String? = nil
    /// Felix's `IPv6Support` setting.
    public var ipv6Support: Bool? = nil
    /// Felix's `RouteRefreshInterval` setting: a Go duration string such as `90s`.
    public var routeRefreshInterval: String? = nil
    /// Felix's `InterfaceRefreshInterval` setting: a Go duration string such as `90s`.
    public var interfaceRefreshInterval: String? = nil
    /// Felix's `IptablesRefreshInterval` setting: a Go duration string such as `90s`.
    public var iptablesRefreshInterval: String? = nil
    /// Felix's `IptablesPostWriteCheckInterval` setting: a Go duration string such as `90s`.
    public var iptablesPostWriteCheckInterval: String? = nil
    /// Felix's `IptablesLockProbeInterval` setting: a Go duration string such as `90s`.
    public var iptablesLockProbeInterval: String? = nil
    /// Felix's `FeatureDetectOverride` setting.
    public var featureDetectOverride: String = ""
    /// Felix's `FeatureGates` setting.
    public var featureGates: String = ""
    /// Felix's `IpsetsRefreshInterval` setting: a Go duration string such as `90s`.
    public var ipsetsRefreshInterval: String? = nil
    /// Felix's `MaxIpsetSize` setting.
    public var maxIpsetSize: Int? = nil
    /// Felix's `IptablesBackend` setting: one of Auto, Legacy, NFT (any case).
    public var iptablesBackend: IptablesBackend? = nil
    /// Felix's `XDPRefreshInterval` setting: a Go duration string such as `90s`.
    public var xdpRefreshInterval: String? = nil
    /// Felix's `NetlinkTimeout` setting: a Go duration string such as `90s`.
    public var netlinkTimeout: String? = nil
    /// Felix's `MetadataAddr` setting.
    public var metadataAddr: String = ""
    /// Felix's `MetadataPort` setting.
    public var metadataPort: Int? = nil
    /// Felix's `OpenstackRegion` setting.
    public var openstackRegion: String = ""
    /// Felix's `InterfacePrefix` setting.
    public var interfacePrefix: String = ""
    /// Felix's `InterfaceExclude` setting.
    public var interfaceExclude: String = ""
    /// Felix's `ChainInsertMode` setting: one of Insert, Append (any case).
    public var chainInsertMode: String = ""
    /// Felix's `DefaultEndpointToHostAction` setting: one of Drop, Accept, Return (any case).
    public var defaultEndpointToHostAction: String = ""
    /// Felix's `IptablesFilterAllowAction` setting: one of Accept, Return (any case).
    public var iptablesFilterAllowAction: String = ""
    /// Felix's `IptablesMangleAllowAction` setting: one of Accept, Return (any case).
    public var iptablesMangleAllowAction: String = ""
    /// Felix's `IptablesFilterDenyAction` setting: one of Drop, Reject (any case).
    public var iptablesFilterDenyAction: String = ""
    /// Felix's `LogPrefix` setting.
    public var logPrefix: String = ""
    /// Felix's `LogActionRateLimit` setting.
    public var logActionRateLimit: String? = nil
    /// Felix's `LogActionRateLimitBurst` setting: from 0 to 9999.
    public var logActionRateLimitBurst: Int? = nil
    /// Felix's `LogFilePath` setting.
    public var logFilePath: String = ""
    /// Felix's `LogSeverityFile` setting: one of Trace, Debug, Info, Warning, Error, Fatal (any case).
    public var logSeverityFile: String = ""
    /// Felix's `LogSeverityScreen` setting: one of Trace, Debug, Info, Warning, Error, Fatal (any case).
    public var logSeverityScreen: String = ""
    /// Felix's `LogSeveritySys` setting: one of Trace, Debug, Info, Warning, Error, Fatal (any case).
    public var logSeveritySys: String = ""
    /// Felix's `LogDebugFilenameRegex` setting.
    public var logDebugFilenameRegex: String = ""
    /// Felix's `IPIPEnabled` setting.
    public var ipipEnabled: Bool? = nil
    /// Felix's `IPIPMTU` setting.
    public var ipipMTU: Int? = nil
    /// Felix's `VXLANEnabled` setting.
    public var vxlanEnabled: Bool? = nil
    /// Felix's `VXLANMTU` setting.
    public var vxlanMTU: Int? = nil
    /// Felix's `VXLANMTUV6` setting.
    public var vxlanMTUV6: Int? = nil
    /// Felix's `VXLANPort` setting.
    public var vxlanPort: Int? = nil
    /// Felix's `VXLANVNI` setting.
    public var vxlanVNI: Int? = nil
    /// Felix's `AllowVXLANPacketsFromWorkloads` setting.
    public var allowVXLANPacketsFromWorkloads: Bool? = nil
    /// Felix's `AllowIPIPPacketsFromWorkloads` setting.
    public var allowIPIPPacketsFromWorkloads: Bool? = nil
    /// Felix's `ReportingInterval` setting: a Go duration string such as `90s`.
    public var reportingInterval: String? = nil
    /// Felix's `ReportingTTL` setting: a Go duration string such as `90s`.
    public var reportingTTL: String? = nil
    /// Felix's `EndpointReportingEnabled` setting.
    public var endpointReportingEnabled: Bool? = nil
    /// Felix's `EndpointReportingDelay` setting: a Go duration string such as `90s`.
    public var endpointReportingDelay: String? = nil
    /// Felix's `EndpointStatusPathPrefix` setting.
    public var endpointStatusPathPrefix: String = ""
    /// Felix's `IptablesMarkMask` setting: from 0 to 4294967295.
    public var iptablesMarkMask: Int64? = nil
    /// Felix's `DisableConntrackInvalidCheck` setting.
    public var disableConntrackInvalidCheck: Bool? = nil
    /// Felix's `HealthEnabled` setting.
    public var healthEnabled: Bool? = nil
    /// Felix's `HealthHost` setting.
    public var healthHost: String? = nil
    /// Felix's `HealthPort` setting.
    public var healthPort: Int? = nil
    /// Felix's `HealthTimeoutOverrides` setting.
    public var healthTimeoutOverrides: [HealthTimeoutOverride] = []
    /// Felix's `PrometheusMetricsEnabled` setting.
    public var prometheusMetricsEnabled: Bool? = nil
    /// Felix's `PrometheusMetricsHost` setting.
    public var prometheusMetricsHost: String = ""
    /// Felix's `PrometheusMetricsPort` setting.
    public var prometheusMetricsPort: Int? = nil
    /// Felix's `PrometheusGoMetricsEnabled` setting.
    public var prometheusGoMetricsEnabled: Bool? = nil
    /// Felix's `PrometheusProcessMetricsEnabled` setting.
    public var prometheusProcessMetricsEnabled: Bool? = nil
    /// Felix's `PrometheusWireGuardMetricsEnabled` setting.
    public var prometheusWireGuardMetricsEnabled: Bool? = nil
    /// Felix's `PrometheusMetricsCAFile` setting.
    public var prometheusMetricsCAFile: String? = nil
    /// Felix's `PrometheusMetricsCertFile` setting.
    public var prometheusMetricsCertFile: String? = nil
    /// Felix's `PrometheusMetricsKeyFile` setting.
    public var prometheusMetricsKeyFile: String? = nil
    /// Felix's `PrometheusMetricsClientAuth` setting.
    public var prometheusMetricsClientAuth: PrometheusMetricsClientAuthType? = nil
    /// Felix's `FailsafeInboundHostPorts` setting.
    public var failsafeInboundHostPorts: [ProtoPort]? = nil
    /// Felix's `FailsafeOutboundHostPorts` setting.
    public var failsafeOutboundHostPorts: [ProtoPort]? = nil
    /// Felix's `KubeNodePortRanges` setting.
    public var kubeNodePortRanges: [PortRange]? = nil
    /// Felix's `PolicySyncPathPrefix` setting.
    public var policySyncPathPrefix: String = ""
    /// Felix's `UsageReportingEnabled` setting.
    public var usageReportingEnabled: Bool? = nil
    /// Felix's `UsageReportingInitialDelay` setting: a Go duration string such as `90s`.
    public var usageReportingInitialDelay: String? = nil
    /// Felix's `UsageReportingInterval` setting: a Go duration string such as `90s`.
    public var usageReportingInterval: String? = nil
    /// Felix's `NATPortRange` setting.
    public var natPortRange: PortRange? = nil
    /// Felix's `NATOutgoingAddress` setting.
    public var natOutgoingAddress: String = ""
    /// Felix's `NATOutgoingExclusions` setting.
    public var natOutgoingExclusions: NATOutgoingExclusionsType? = nil
    /// Felix's `DeviceRouteSourceAddress` setting.
    public var deviceRouteSourceAddress: String = ""
    /// Felix's `DeviceRouteSourceAddressIPv6` setting.
    public var deviceRouteSourceAddressIPv6: String = ""
    /// Felix's `DeviceRouteProtocol` setting.
    public var deviceRouteProtocol: Int? = nil
    /// Felix's `RemoveExternalRoutes` setting.
    public var removeExternalRoutes: Bool? = nil
    /// Felix's `ProgramClusterRoutes` setting.
    public var programClusterRoutes: ProgramClusterRoutes? = nil
    /// Felix's `IPForwarding` setting: one of Enabled, Disabled.
    public var ipForwarding: String = ""
    /// Felix's `ExternalNodesCIDRList` setting.
    public var externalNodesList: [String]? = nil
    /// Felix's `DebugMemoryProfilePath` setting.
    public var debugMemoryProfilePath: String = ""
    /// Felix's `DebugDisableLogDropping` setting.
    public var debugDisableLogDropping: Bool? = nil
    /// Felix's `DebugSimulateCalcGraphHangAfter` setting: a Go duration string such as `90s`.
    public var debugSimulateCalcGraphHangAfter: String? = nil
    /// Felix's `DebugSimulateDataplaneHangAfter` setting: a Go duration string such as `90s`.
    public var debugSimulateDataplaneHangAfter: String? = nil
    /// Felix's `DebugSimulateDataplaneApplyDelay` setting: a Go duration string such as `90s`.
    public var debugSimulateDataplaneApplyDelay: String? = nil
    /// Felix's `DebugHost` setting.
    public var debugHost: String? = nil
    /// Felix's `DebugPort` setting: from 0 to 65535.
    public var debugPort: Int? = nil
    /// Felix's `IptablesNATOutgoingInterfaceFilter` setting.
    public var iptablesNATOutgoingInterfaceFilter: String = ""
    /// Felix's `SidecarAccelerationEnabled` setting.
    public var sidecarAccelerationEnabled: Bool? = nil
    /// Felix's `XDPEnabled` setting.
    public var xdpEnabled: Bool? = nil
    /// Felix's `GenericXDPEnabled` setting.
    public var genericXDPEnabled: Bool? = nil
    /// Felix's `NFTablesMode` setting.
    public var nftablesMode: NFTablesMode? = nil
    /// Felix's `NFTablesFlowTableOffload` setting.
    public var nftablesFlowTableOffload: NFTablesFlowTableOffload? = nil
    /// Felix's `NFTablesFlowTableDataIfacePattern` setting.
    public var nftablesFlowTableDataIfacePattern: String = ""
    /// Felix's `NftablesRefreshInterval` setting: a Go duration string such as `90s`.
    public var nftablesRefreshInterval: String? = nil
    /// Felix's `NftablesFilterAllowAction` setting: one of Accept, Return (any case).
    public var nftablesFilterAllowAction: String = ""
    /// Felix's `NftablesMangleAllowAction` setting: one of Accept, Return (any case).
    public var nftablesMangleAllowAction: String = ""
    /// Felix's `NftablesFilterDenyAction` setting: one of Drop, Reject (any case).
    public var nftablesFilterDenyAction: String = ""
    /// Felix's `NftablesMarkMask` setting: from 0 to 4294967295.
    public var nftablesMarkMask: Int64? = nil
    /// Felix's `BPFEnabled` setting.
    public var bpfEnabled: Bool? = nil
    /// Felix's `BPFOverlayHostSourceIP` setting.
    public var bpfOverlayHostSourceIP: BPFOverlayHostSourceIPType? = nil
    /// Felix's `BPFDisableUnprivileged` setting.
    public var bpfDisableUnprivileged: Bool? = nil
    /// Felix's `BPFJITHardening` setting.
    public var bpfJITHardening: BPFJITHardeningType? = nil
    /// Felix's `BPFLogLevel` setting; always written, "" when unset: one of Off, Info, Debug (any case).
    public var bpfLogLevel: String = ""
    /// Felix's `BPFConntrackLogLevel` setting: one of Off, Debug.
    public var bpfConntrackLogLevel: String = ""
    /// Felix's `BPFConntrackCleanupMode` setting.
    public var bpfConntrackMode: BPFConntrackMode? = nil
    /// Felix's `BPFConntrackTimeouts` setting.
    public var bpfConntrackTimeouts: BPFConntrackTimeouts? = nil
    /// Felix's `BPFIPFragTimeout` setting: a Go duration string such as `90s`.
    public var bpfIPFragTimeout: String? = nil
    /// Felix's `BPFLogFilters` setting.
    public var bpfLogFilters: [String: String]? = nil
    /// Felix's `BPFCTLBLogFilter` setting.
    public var bpfCTLBLogFilter: String = ""
    /// Felix's `BPFDataIfacePattern` setting.
    public var bpfDataIfacePattern: String = ""
    /// Felix's `BPFL3IfacePattern` setting.
    public var bpfL3IfacePattern: String = ""
    /// Felix's `BPFConnectTimeLoadBalancingEnabled` setting.
    public var bpfConnectTimeLoadBalancingEnabled: Bool? = nil
    /// Felix's `BPFConnectTimeLoadBalancing` setting.
    public var bpfConnectTimeLoadBalancing: BPFConnectTimeLBType? = nil
    /// Felix's `BPFHostNetworkedNATWithoutCTLB` setting.
    public var bpfHostNetworkedNATWithoutCTLB: BPFHostNetworkedNATType? = nil
    /// Felix's `BPFExternalServiceMode` setting: one of Tunnel, DSR (any case).
    public var bpfExternalServiceMode: String = ""
    /// Felix's `BPFDSROptoutCIDRs` setting.
    public var bpfDSROptoutCIDRs: [String]? = nil
    /// Felix's `BPFExtToServiceConnmark` setting: from 0 to 4294967295.
    public var bpfExtToServiceConnmark: Int? = nil
    /// Felix's `BPFKubeProxyIptablesCleanupEnabled` setting.
    public var bpfKubeProxyIptablesCleanupEnabled: Bool? = nil
    /// Felix's `BPFKubeProxyMinSyncPeriod` setting: a Go duration string such as `90s`.
    public var bpfKubeProxyMinSyncPeriod: String? = nil
    /// Felix's `BPFKubeProxyHealthzPort` setting: from 0 to 65535.
    public var bpfKubeProxyHealthzPort: Int? = nil
    /// Felix's `BPFPSNATPorts` setting.
    public var bpfPSNATPorts: PortRange? = nil
    /// Felix's `BPFMapSizeNATFrontend` setting.
    public var bpfMapSizeNATFrontend: Int? = nil
    /// Felix's `BPFMapSizeNATBackend` setting.
    public var bpfMapSizeNATBackend: Int? = nil
    /// Felix's `BPFMapSizeNATAffinity` setting.
    public var bpfMapSizeNATAffinity: Int? = nil
    /// Felix's `BPFMapSizeRoute` setting.
    public var bpfMapSizeRoute: Int? = nil
    /// Felix's `BPFMapSizeConntrack` setting.
    public var bpfMapSizeConntrack: Int? = nil
    /// Felix's `BPFMapSizePerCPUConntrack` setting.
    public var bpfMapSizePerCpuConntrack: Int? = nil
    /// Felix's `BPFMapSizeConntrackScaling` setting: one of Disabled, DoubleIfFull (any case).
    public var bpfMapSizeConntrackScaling: String = ""
    /// Felix's `BPFMapSizeConntrackCleanupQueue` setting: from 1 to any.
    public var bpfMapSizeConntrackCleanupQueue: Int? = nil
    /// Felix's `BPFMapSizeIPSets` setting.
    public var bpfMapSizeIPSets: Int? = nil
    /// Felix's `BPFMapSizeIfState` setting.
    public var bpfMapSizeIfState: Int? = nil
    /// Felix's `BPFHostConntrackBypass` setting.
    public var bpfHostConntrackBypass: Bool? = nil
    /// Felix's `BPFIPFragmentReassemblyEnabled` setting.
    public var bpfIPFragmentReassemblyEnabled: Bool? = nil
    /// Felix's `BPFEnforceRPF` setting: one of Disabled, Strict, Loose (any case).
    public var bpfEnforceRPF: String = ""
    /// Felix's `BPFPolicyDebugEnabled` setting.
    public var bpfPolicyDebugEnabled: Bool? = nil
    /// Felix's `BPFForceTrackPacketsFromIfaces` setting.
    public var bpfForceTrackPacketsFromIfaces: [String]? = nil
    /// Felix's `BPFDisableGROForIfaces` setting.
    public var bpfDisableGROForIfaces: String = ""
    /// Felix's `BPFExcludeCIDRsFromNAT` setting.
    public var bpfExcludeCIDRsFromNAT: [String]? = nil
    /// Felix's `BPFExportBufferSizeMB` setting.
    public var bpfExportBufferSizeMB: Int? = nil
    /// Felix's `IstioAmbientMode` setting.
    public var istioAmbientMode: IstioAmbientMode? = nil
    /// Felix's `IstioDSCPMark` setting.
    public var istioDSCPMark: DSCP? = nil
    /// Felix's `CgroupV2Path` setting.
    public var cgroupV2Path: String = ""
    /// Felix's `FlowLogsPolicyEvaluationMode` setting.
    public var flowLogsPolicyEvaluationMode: FlowLogsPolicyEvaluationModeType? = nil
    /// Felix's `BPFRedirectToPeer` setting: one of Enabled, Disabled.
    public var bpfRedirectToPeer: String = ""
    /// Felix's `BPFAttachType` setting.
    public var bpfAttachType: BPFAttachOption? = nil
    /// Felix's `FlowLogsFlushInterval` setting: a Go duration string such as `90s`.
    public var flowLogsFlushInterval: String? = nil
    /// Felix's `FlowLogsCollectorDebugTrace` setting.
    public var flowLogsCollectorDebugTrace: Bool? = nil
    /// Felix's `FlowLogsGoldmaneServer` setting.
    public var flowLogsGoldmaneServer: String? = nil
    /// Felix's `FlowLogsLocalReporter` setting: one of Disabled, Enabled.
    public var flowLogsLocalReporter: String? = nil
    /// Felix's `BPFProfiling` setting: one of Enabled, Disabled.
    public var bpfProfiling: String = ""
    /// Felix's `RouteSource` setting: one of WorkloadIPs, CalicoIPAM (any case).
    public var routeSource: String = ""
    /// Felix's `RouteTableRanges` setting.
    public var routeTableRanges: [RouteTableIDRange]? = nil
    /// Felix's `RouteTableRange` setting.
    public var routeTableRange: RouteTableRange? = nil
    /// Felix's `RouteSyncDisabled` setting.
    public var routeSyncDisabled: Bool? = nil
    /// Felix's `IPv4NormalRoutePriority` setting: from 1 to 2147483646.
    public var ipv4NormalRoutePriority: Int? = nil
    /// Felix's `IPv4ElevatedRoutePriority` setting: from 1 to 2147483646.
    public var ipv4ElevatedRoutePriority: Int? = nil
    /// Felix's `IPv6NormalRoutePriority` setting: from 1 to 2147483646.
    public var ipv6NormalRoutePriority: Int? = nil
    /// Felix's `IPv6ElevatedRoutePriority` setting: from 1 to 2147483646.
    public var ipv6ElevatedRoutePriority: Int? = nil
    /// Felix's `LiveMigrationRouteConvergenceTime` setting: a Go duration string such as `90s`.
    public var liveMigrationRouteConvergenceTime: String? = nil
    /// Felix's `WireguardEnabled` setting.
    public var wireguardEnabled: Bool? = nil
    /// Felix's `WireguardEnabledV6` setting.
    public var wireguardEnabledV6: Bool? = nil
    /// Felix's `WireguardThreadingEnabled` setting.
    public var wireguardThreadingEnabled: Bool? = nil
    /// Felix's `WireguardListeningPort` setting: from 1 to 65535.
    public var wireguardListeningPort: Int? = nil
    /// Felix's `WireguardListeningPortV6` setting: from 1 to 65535.
    public var wireguardListeningPortV6: Int? = nil
    /// Felix's `WireguardRoutingRulePriority` setting: from 1 to 32765.
    public var wireguardRoutingRulePriority: Int? = nil
    /// Felix's `WireguardInterfaceName` setting.
    public var wireguardInterfaceName: String = ""
    /// Felix's `WireguardInterfaceNameV6` setting.
    public var wireguardInterfaceNameV6: String = ""
    /// Felix's `WireguardMTU` setting.
    public var wireguardMTU: Int? = nil
    /// Felix's `WireguardMTUV6` setting.
    public var wireguardMTUV6: Int? = nil
    /// Felix's `WireguardHostEncryptionEnabled` setting.
    public var wireguardHostEncryptionEnabled: Bool? = nil
    /// Felix's `WireguardPersistentKeepAlive` setting: a Go duration string such as `90s`.
    public var wireguardKeepAlive: String? = nil
    /// Felix's `AWSSrcDstCheck` setting.
    public var awsSrcDstCheck: AWSSrcDstCheckOption? = nil
    /// Felix's `ServiceLoopPrevention` setting: one of Drop, Reject, Disabled (any case).
    public var serviceLoopPrevention: String = ""
    /// Felix's `WorkloadSourceSpoofing` setting: one of Disabled, Any (any case).
    public var workloadSourceSpoofing: String = ""
    /// Felix's `MTUIfacePattern` setting.
    public var mtuIfacePattern: String = ""
    /// Felix's `FloatingIPs` setting.
    public var floatingIPs: FloatingIPType? = nil
    /// Felix's `LocalSubnetL2Reachability` setting.
    public var localSubnetL2Reachability: LocalSubnetL2ReachabilityMode? = nil
    /// Felix's `LocalSubnetL2ReachabilityRefreshInterval` setting: a Go duration string such as `90s`.
    public var localSubnetL2ReachabilityRefreshInterval: String? = nil
    /// Felix's `WindowsManageFirewallRules` setting.
    public var windowsManageFirewallRules: WindowsManageFirewallRulesMode? = nil
    /// Felix's `GoGCThreshold` setting: from -1 to any.
    public var goGCThreshold: Int? = nil
    /// Felix's `GoMemoryLimitMB` setting: from -1 to any.
    public var goMemoryLimitMB: Int? = nil
    /// Felix's `GoMaxProcs` setting: from -1 to any.
    public var goMaxProcs: Int? = nil
    /// Felix's `RequireMTUFile` setting.
    public var requireMTUFile: Bool? = nil
    /// Felix's `BPFMaglevMaxEndpointsPerService` setting: from 1 to 3000.
    public var bpfMaglevMaxEndpointsPerService: Int? = nil
    /// Felix's `BPFMaglevMaxServices` setting: from 1 to 3000.
    public var bpfMaglevMaxServices: Int? = nil

    /// An empty configuration: nothing set.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case nodeSelector
        case useInternalDataplaneDriver
        case dataplaneDriver
        case dataplaneWatchdogTimeout
        case ipv6Support
        case routeRefreshInterval
        case interfaceRefreshInterval
        case iptablesRefreshInterval
        case iptablesPostWriteCheckInterval
        case iptablesLockProbeInterval
        case featureDetectOverride
        case featureGates
        case ipsetsRefreshInterval
        case maxIpsetSize
        case iptablesBackend
        case xdpRefreshInterval
        case netlinkTimeout
        case metadataAddr
        case metadataPort
        case openstackRegion
        case interfacePrefix
        case interfaceExclude
        case chainInsertMode
        case defaultEndpointToHostAction
        case iptablesFilterAllowAction
        case iptablesMangleAllowAction
        case iptablesFilterDenyAction
        case logPrefix
        case logActionRateLimit
        case logActionRateLimitBurst
        case logFilePath
        case logSeverityFile
        case logSeverityScreen
        case logSeveritySys
        case logDebugFilenameRegex
        case ipipEnabled
        case ipipMTU
        case vxlanEnabled
        case vxlanMTU
        case vxlanMTUV6
        case vxlanPort
        case vxlanVNI
        case allowVXLANPacketsFromWorkloads
        case allowIPIPPacketsFromWorkloads
        case reportingInterval
        case reportingTTL
        case endpointReportingEnabled
        case endpointReportingDelay
        case endpointStatusPathPrefix
        case iptablesMarkMask
        case disableConntrackInvalidCheck
        case healthEnabled
        case healthHost
        case healthPort
        case healthTimeoutOverrides
        case prometheusMetricsEnabled
        case prometheusMetricsHost
        case prometheusMetricsPort
        case prometheusGoMetricsEnabled
        case prometheusProcessMetricsEnabled
        case prometheusWireGuardMetricsEnabled
        case prometheusMetricsCAFile
        case prometheusMetricsCertFile
        case prometheusMetricsKeyFile
        case prometheusMetricsClientAuth
        case failsafeInboundHostPorts
        case failsafeOutboundHostPorts
        case kubeNodePortRanges
        case policySyncPathPrefix
        case usageReportingEnabled
        case usageReportingInitialDelay
        case usageReportingInterval
        case natPortRange
        case natOutgoingAddress
        case natOutgoingExclusions
        case deviceRouteSourceAddress
        case deviceRouteSourceAddressIPv6
        case deviceRouteProtocol
        case removeExternalRoutes
        case programClusterRoutes
        case ipForwarding
        case externalNodesList
        case debugMemoryProfilePath
        case debugDisableLogDropping
        case debugSimulateCalcGraphHangAfter
        case debugSimulateDataplaneHangAfter
        case debugSimulateDataplaneApplyDelay
        case debugHost
        case debugPort
        case iptablesNATOutgoingInterfaceFilter
        case sidecarAccelerationEnabled
        case xdpEnabled
        case genericXDPEnabled
        case nftablesMode
        case nftablesFlowTableOffload
        case nftablesFlowTableDataIfacePattern
        case nftablesRefreshInterval
        case nftablesFilterAllowAction
        case nftablesMangleAllowAction
        case nftablesFilterDenyAction
        case nftablesMarkMask
        case bpfEnabled
        case bpfOverlayHostSourceIP
        case bpfDisableUnprivileged
        case bpfJITHardening
        case bpfLogLevel
        case bpfConntrackLogLevel
        case bpfConntrackMode
        case bpfConntrackTimeouts
        case bpfIPFragTimeout
        case bpfLogFilters
        case bpfCTLBLogFilter
        case bpfDataIfacePattern
        case bpfL3IfacePattern
        case bpfConnectTimeLoadBalancingEnabled
        case bpfConnectTimeLoadBalancing
        case bpfHostNetworkedNATWithoutCTLB
        case bpfExternalServiceMode
        case bpfDSROptoutCIDRs
        case bpfExtToServiceConnmark
        case bpfKubeProxyIptablesCleanupEnabled
        case bpfKubeProxyMinSyncPeriod
        case bpfKubeProxyHealthzPort
        case bpfPSNATPorts
        case bpfMapSizeNATFrontend
        case bpfMapSizeNATBackend
        case bpfMapSizeNATAffinity
        case bpfMapSizeRoute
        case bpfMapSizeConntrack
        case bpfMapSizePerCpuConntrack
        case bpfMapSizeConntrackScaling
        case bpfMapSizeConntrackCleanupQueue
        case bpfMapSizeIPSets
        case bpfMapSizeIfState
        case bpfHostConntrackBypass
        case bpfIPFragmentReassemblyEnabled
        case bpfEnforceRPF
        case bpfPolicyDebugEnabled
        case bpfForceTrackPacketsFromIfaces
        case bpfDisableGROForIfaces
        case bpfExcludeCIDRsFromNAT
        case bpfExportBufferSizeMB
        case istioAmbientMode
        case istioDSCPMark
        case cgroupV2Path
        case flowLogsPolicyEvaluationMode
        case bpfRedirectToPeer
        case bpfAttachType
        case flowLogsFlushInterval
        case flowLogsCollectorDebugTrace
        case flowLogsGoldmaneServer
        case flowLogsLocalReporter
        case bpfProfiling
        case routeSource
        case routeTableRanges
        case routeTableRange
        case routeSyncDisabled
        case ipv4NormalRoutePriority
        case ipv4ElevatedRoutePriority
        case ipv6NormalRoutePriority
        case ipv6ElevatedRoutePriority
        case liveMigrationRouteConvergenceTime
        case wireguardEnabled
        case wireguardEnabledV6
        case wireguardThreadingEnabled
        case wireguardListeningPort
        case wireguardListeningPortV6
        case wireguardRoutingRulePriority
        case wireguardInterfaceName
        case wireguardInterfaceNameV6
        case wireguardMTU
        case wireguardMTUV6
        case wireguardHostEncryptionEnabled
        case wireguardKeepAlive
        case awsSrcDstCheck
        case serviceLoopPrevention
        case workloadSourceSpoofing
        case mtuIfacePattern
        case floatingIPs
        case localSubnetL2Reachability
        case localSubnetL2ReachabilityRefreshInterval
        case windowsManageFirewallRules
        case goGCThreshold
        case goMemoryLimitMB
        case goMaxProcs
        case requireMTUFile
        case bpfMaglevMaxEndpointsPerService
        case bpfMaglevMaxServices
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodeSelector = try c.decodeIfPresent(String.self, forKey: .nodeSelector)
        useInternalDataplaneDriver = try c.decodeIfPresent(Bool.self, forKey: .useInternalDataplaneDriver)
        dataplaneDriver = try c.decodeOrZero(String.self, forKey: .dataplaneDriver)
        dataplaneWatchdogTimeout = try c.decodeIfPresent(String.self, forKey: .dataplaneWatchdogTimeout)
        ipv6Support = try c.decodeIfPresent(Bool.self, forKey: .ipv6Support)
        routeRefreshInterval = try c.decodeIfPresent(String.self, forKey: .routeRefreshInterval)
        interfaceRefreshInterval = try c.decodeIfPresent(String.self, forKey: .interfaceRefreshInterval)
        iptablesRefreshInterval = try c.decodeIfPresent(String.self, forKey: .iptablesRefreshInterval)
        iptablesPostWriteCheckInterval = try c.decodeIfPresent(String.self, forKey: .iptablesPostWriteCheckInterval)
        iptablesLockProbeInterval = try c.decodeIfPresent(String.self, forKey: .iptablesLockProbeInterval)
        featureDetectOverride = try c.decodeOrZero(String.self, forKey: .featureDetectOverride)
        featureGates = try c.decodeOrZero(String.self, forKey: .featureGates)
        ipsetsRefreshInterval = try c.decodeIfPresent(String.self, forKey: .ipsetsRefreshInterval)
        maxIpsetSize = try c.decodeIfPresent(Int.self, forKey: .maxIpsetSize)
        iptablesBackend = try c.decodeIfPresent(IptablesBackend.self, forKey: .iptablesBackend)
        xdpRefreshInterval = try c.decodeIfPresent(String.self, forKey: .xdpRefreshInterval)
        netlinkTimeout = try c.decodeIfPresent(String.self, forKey: .netlinkTimeout)
        metadataAddr = try c.decodeOrZero(String.self, forKey: .metadataAddr)
        metadataPort = try c.decodeIfPresent(Int.self, forKey: .metadataPort)
        openstackRegion = try c.decodeOrZero(String.self, forKey: .openstackRegion)
        interfacePrefix = try c.decodeOrZero(String.self, forKey: .interfacePrefix)
        interfaceExclude = try c.decodeOrZero(String.self, forKey: .interfaceExclude)
        chainInsertMode = try c.decodeOrZero(String.self, forKey: .chainInsertMode)
        defaultEndpointToHostAction = try c.decodeOrZero(String.self, forKey: .defaultEndpointToHostAction)
        iptablesFilterAllowAction = try c.decodeOrZero(String.self, forKey: .iptablesFilterAllowAction)
        iptablesMangleAllowAction = try c.decodeOrZero(String.self, forKey: .iptablesMangleAllowAction)
        iptablesFilterDenyAction = try c.decodeOrZero(String.self, forKey: .iptablesFilterDenyAction)
        logPrefix = try c.decodeOrZero(String.self, forKey: .logPrefix)
        logActionRateLimit = try c.decodeIfPresent(String.self, forKey: .logActionRateLimit)
        logActionRateLimitBurst = try c.decodeIfPresent(Int.self, forKey: .logActionRateLimitBurst)
        logFilePath = try c.decodeOrZero(String.self, forKey: .logFilePath)
        logSeverityFile = try c.decodeOrZero(String.self, forKey: .logSeverityFile)
        logSeverityScreen = try c.decodeOrZero(String.self, forKey: .logSeverityScreen)
        logSeveritySys = try c.decodeOrZero(String.self, forKey: .logSeveritySys)
        logDebugFilenameRegex = try c.decodeOrZero(String.self, forKey: .logDebugFilenameRegex)
        ipipEnabled = try c.decodeIfPresent(Bool.self, forKey: .ipipEnabled)
        ipipMTU = try c.decodeIfPresent(Int.self, forKey: .ipipMTU)
        vxlanEnabled = try c.decodeIfPresent(Bool.self, forKey: .vxlanEnabled)
        vxlanMTU = try c.decodeIfPresent(Int.self, forKey: .vxlanMTU)
        vxlanMTUV6 = try c.decodeIfPresent(Int.self, forKey: .vxlanMTUV6)
        vxlanPort = try c.decodeIfPresent(Int.self, forKey: .vxlanPort)
        vxlanVNI = try c.decodeIfPresent(Int.self, forKey: .vxlanVNI)
        allowVXLANPacketsFromWorkloads = try c.decodeIfPresent(Bool.self, forKey: .allowVXLANPacketsFromWorkloads)
        allowIPIPPacketsFromWorkloads = try c.decodeIfPresent(Bool.self, forKey: .allowIPIPPacketsFromWorkloads)
        reportingInterval = try c.decodeIfPresent(String.self, forKey: .reportingInterval)
        reportingTTL = try c.decodeIfPresent(String.self, forKey: .reportingTTL)
        endpointReportingEnabled = try c.decodeIfPresent(Bool.self, forKey: .endpointReportingEnabled)
        endpointReportingDelay = try c.decodeIfPresent(String.self, forKey: .endpointReportingDelay)
        endpointStatusPathPrefix = try c.decodeOrZero(String.self, forKey: .endpointStatusPathPrefix)
        iptablesMarkMask = try c.decodeIfPresent(Int64.self, forKey: .iptablesMarkMask)
        disableConntrackInvalidCheck = try c.decodeIfPresent(Bool.self, forKey: .disableConntrackInvalidCheck)
        healthEnabled = try c.decodeIfPresent(Bool.self, forKey: .healthEnabled)
        healthHost = try c.decodeIfPresent(String.self, forKey: .healthHost)
        healthPort = try c.decodeIfPresent(Int.self, forKey: .healthPort)
        healthTimeoutOverrides = try c.decodeOrZero([HealthTimeoutOverride].self, forKey: .healthTimeoutOverrides)
        prometheusMetricsEnabled = try c.decodeIfPresent(Bool.self, forKey: .prometheusMetricsEnabled)
        prometheusMetricsHost = try c.decodeOrZero(String.self, forKey: .prometheusMetricsHost)
        prometheusMetricsPort = try c.decodeIfPresent(Int.self, forKey: .prometheusMetricsPort)
        prometheusGoMetricsEnabled = try c.decodeIfPresent(Bool.self, forKey: .prometheusGoMetricsEnabled)
        prometheusProcessMetricsEnabled = try c.decodeIfPresent(Bool.self, forKey: .prometheusProcessMetricsEnabled)
        prometheusWireGuardMetricsEnabled = try c.decodeIfPresent(Bool.self, forKey: .prometheusWireGuardMetricsEnabled)
        prometheusMetricsCAFile = try c.decodeIfPresent(String.self, forKey: .prometheusMetricsCAFile)
        prometheusMetricsCertFile = try c.decodeIfPresent(String.self, forKey: .prometheusMetricsCertFile)
        prometheusMetricsKeyFile = try c.decodeIfPresent(String.self, forKey: .prometheusMetricsKeyFile)
        prometheusMetricsClientAuth = try c.decodeIfPresent(PrometheusMetricsClientAuthType.self, forKey: .prometheusMetricsClientAuth)
        failsafeInboundHostPorts = try c.decodeIfPresent([ProtoPort].self, forKey: .failsafeInboundHostPorts)
        failsafeOutboundHostPorts = try c.decodeIfPresent([ProtoPort].self, forKey: .failsafeOutboundHostPorts)
        kubeNodePortRanges = try c.decodeIfPresent([PortRange].self, forKey: .kubeNodePortRanges)
        policySyncPathPrefix = try c.decodeOrZero(String.self, forKey: .policySyncPathPrefix)
        usageReportingEnabled = try c.decodeIfPresent(Bool.self, forKey: .usageReportingEnabled)
        usageReportingInitialDelay = try c.decodeIfPresent(String.self, forKey: .usageReportingInitialDelay)
        usageReportingInterval = try c.decodeIfPresent(String.self, forKey: .usageReportingInterval)
        natPortRange = try c.decodeIfPresent(PortRange.self, forKey: .natPortRange)
        natOutgoingAddress = try c.decodeOrZero(String.self, forKey: .natOutgoingAddress)
        natOutgoingExclusions = try c.decodeIfPresent(NATOutgoingExclusionsType.self, forKey: .natOutgoingExclusions)
        deviceRouteSourceAddress = try c.decodeOrZero(String.self, forKey: .deviceRouteSourceAddress)
        deviceRouteSourceAddressIPv6 = try c.decodeOrZero(String.self, forKey: .deviceRouteSourceAddressIPv6)
        deviceRouteProtocol = try c.decodeIfPresent(Int.self, forKey: .deviceRouteProtocol)
        removeExternalRoutes = try c.decodeIfPresent(Bool.self, forKey: .removeExternalRoutes)
        programClusterRoutes = try c.decodeIfPresent(ProgramClusterRoutes.self, forKey: .programClusterRoutes)
        ipForwarding = try c.decodeOrZero(String.self, forKey: .ipForwarding)
        externalNodesList = try c.decodeIfPresent([String].self, forKey: .externalNodesList)
        debugMemoryProfilePath = try c.decodeOrZero(String.self, forKey: .debugMemoryProfilePath)
        debugDisableLogDropping = try c.decodeIfPresent(Bool.self, forKey: .debugDisableLogDropping)
        debugSimulateCalcGraphHangAfter = try c.decodeIfPresent(String.self, forKey: .debugSimulateCalcGraphHangAfter)
        debugSimulateDataplaneHangAfter = try c.decodeIfPresent(String.self, forKey: .debugSimulateDataplaneHangAfter)
        debugSimulateDataplaneApplyDelay = try c.decodeIfPresent(String.self, forKey: .debugSimulateDataplaneApplyDelay)
        debugHost = try c.decodeIfPresent(String.self, forKey: .debugHost)
        debugPort = try c.decodeIfPresent(Int.self, forKey: .debugPort)
        iptablesNATOutgoingInterfaceFilter = try c.decodeOrZero(String.self, forKey: .iptablesNATOutgoingInterfaceFilter)
        sidecarAccelerationEnabled = try c.decodeIfPresent(Bool.self, forKey: .sidecarAccelerationEnabled)
        xdpEnabled = try c.decodeIfPresent(Bool.self, forKey: .xdpEnabled)
        genericXDPEnabled = try c.decodeIfPresent(Bool.self, forKey: .genericXDPEnabled)
        nftablesMode = try c.decodeIfPresent(NFTablesMode.self, forKey: .nftablesMode)
        nftablesFlowTableOffload = try c.decodeIfPresent(NFTablesFlowTableOffload.self, forKey: .nftablesFlowTableOffload)
        nftablesFlowTableDataIfacePattern = try c.decodeOrZero(String.self, forKey: .nftablesFlowTableDataIfacePattern)
        nftablesRefreshInterval = try c.decodeIfPresent(String.self, forKey: .nftablesRefreshInterval)
        nftablesFilterAllowAction = try c.decodeOrZero(String.self, forKey: .nftablesFilterAllowAction)
        nftablesMangleAllowAction = try c.decodeOrZero(String.self, forKey: .nftablesMangleAllowAction)
        nftablesFilterDenyAction = try c.decodeOrZero(String.self, forKey: .nftablesFilterDenyAction)
        nftablesMarkMask = try c.decodeIfPresent(Int64.self, forKey: .nftablesMarkMask)
        bpfEnabled = try c.decodeIfPresent(Bool.self, forKey: .bpfEnabled)
        bpfOverlayHostSourceIP = try c.decodeIfPresent(BPFOverlayHostSourceIPType.self, forKey: .bpfOverlayHostSourceIP)
        bpfDisableUnprivileged = try c.decodeIfPresent(Bool.self, forKey: .bpfDisableUnprivileged)
        bpfJITHardening = try c.decodeIfPresent(BPFJITHardeningType.self, forKey: .bpfJITHardening)
        bpfLogLevel = try c.decodeOrZero(String.self, forKey: .bpfLogLevel)
        bpfConntrackLogLevel = try c.decodeOrZero(String.self, forKey: .bpfConntrackLogLevel)
        bpfConntrackMode = try c.decodeIfPresent(BPFConntrackMode.self, forKey: .bpfConntrackMode)
        bpfConntrackTimeouts = try c.decodeIfPresent(BPFConntrackTimeouts.self, forKey: .bpfConntrackTimeouts)
        bpfIPFragTimeout = try c.decodeIfPresent(String.self, forKey: .bpfIPFragTimeout)
        bpfLogFilters = try c.decodeIfPresent([String: String].self, forKey: .bpfLogFilters)
        bpfCTLBLogFilter = try c.decodeOrZero(String.self, forKey: .bpfCTLBLogFilter)
        bpfDataIfacePattern = try c.decodeOrZero(String.self, forKey: .bpfDataIfacePattern)
        bpfL3IfacePattern = try c.decodeOrZero(String.self, forKey: .bpfL3IfacePattern)
        bpfConnectTimeLoadBalancingEnabled = try c.decodeIfPresent(Bool.self, forKey: .bpfConnectTimeLoadBalancingEnabled)
        bpfConnectTimeLoadBalancing = try c.decodeIfPresent(BPFConnectTimeLBType.self, forKey: .bpfConnectTimeLoadBalancing)
        bpfHostNetworkedNATWithoutCTLB = try c.decodeIfPresent(BPFHostNetworkedNATType.self, forKey: .bpfHostNetworkedNATWithoutCTLB)
        bpfExternalServiceMode = try c.decodeOrZero(String.self, forKey: .bpfExternalServiceMode)
        bpfDSROptoutCIDRs = try c.decodeIfPresent([String].self, forKey: .bpfDSROptoutCIDRs)
        bpfExtToServiceConnmark = try c.decodeIfPresent(Int.self, forKey: .bpfExtToServiceConnmark)
        bpfKubeProxyIptablesCleanupEnabled = try c.decodeIfPresent(Bool.self, forKey: .bpfKubeProxyIptablesCleanupEnabled)
        bpfKubeProxyMinSyncPeriod = try c.decodeIfPresent(String.self, forKey: .bpfKubeProxyMinSyncPeriod)
        bpfKubeProxyHealthzPort = try c.decodeIfPresent(Int.self, forKey: .bpfKubeProxyHealthzPort)
        bpfPSNATPorts = try c.decodeIfPresent(PortRange.self, forKey: .bpfPSNATPorts)
        bpfMapSizeNATFrontend = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeNATFrontend)
        bpfMapSizeNATBackend = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeNATBackend)
        bpfMapSizeNATAffinity = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeNATAffinity)
        bpfMapSizeRoute = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeRoute)
        bpfMapSizeConntrack = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeConntrack)
        bpfMapSizePerCpuConntrack = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizePerCpuConntrack)
        bpfMapSizeConntrackScaling = try c.decodeOrZero(String.self, forKey: .bpfMapSizeConntrackScaling)
        bpfMapSizeConntrackCleanupQueue = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeConntrackCleanupQueue)
        bpfMapSizeIPSets = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeIPSets)
        bpfMapSizeIfState = try c.decodeIfPresent(Int.self, forKey: .bpfMapSizeIfState)
        bpfHostConntrackBypass = try c.decodeIfPresent(Bool.self, forKey: .bpfHostConntrackBypass)
        bpfIPFragmentReassemblyEnabled = try c.decodeIfPresent(Bool.self, forKey: .bpfIPFragmentReassemblyEnabled)
        bpfEnforceRPF = try c.decodeOrZero(String.self, forKey: .bpfEnforceRPF)
        bpfPolicyDebugEnabled = try c.decodeIfPresent(Bool.self, forKey: .bpfPolicyDebugEnabled)
        bpfForceTrackPacketsFromIfaces = try c.decodeIfPresent([String].self, forKey: .bpfForceTrackPacketsFromIfaces)
        bpfDisableGROForIfaces = try c.decodeOrZero(String.self, forKey: .bpfDisableGROForIfaces)
        bpfExcludeCIDRsFromNAT = try c.decodeIfPresent([String].self, forKey: .bpfExcludeCIDRsFromNAT)
        bpfExportBufferSizeMB = try c.decodeIfPresent(Int.self, forKey: .bpfExportBufferSizeMB)
        istioAmbientMode = try c.decodeIfPresent(IstioAmbientMode.self, forKey: .istioAmbientMode)
        istioDSCPMark = try c.decodeIfPresent(DSCP.self, forKey: .istioDSCPMark)
        cgroupV2Path = try c.decodeOrZero(String.self, forKey: .cgroupV2Path)
        flowLogsPolicyEvaluationMode = try c.decodeIfPresent(FlowLogsPolicyEvaluationModeType.self, forKey: .flowLogsPolicyEvaluationMode)
        bpfRedirectToPeer = try c.decodeOrZero(String.self, forKey: .bpfRedirectToPeer)
        bpfAttachType = try c.decodeIfPresent(BPFAttachOption.self, forKey: .bpfAttachType)
        flowLogsFlushInterval = try c.decodeIfPresent(String.self, forKey: .flowLogsFlushInterval)
        flowLogsCollectorDebugTrace = try c.decodeIfPresent(Bool.self, forKey: .flowLogsCollectorDebugTrace)
        flowLogsGoldmaneServer = try c.decodeIfPresent(String.self, forKey: .flowLogsGoldmaneServer)
        flowLogsLocalReporter = try c.decodeIfPresent(String.self, forKey: .flowLogsLocalReporter)
        bpfProfiling = try c.decodeOrZero(String.self, forKey: .bpfProfiling)
        routeSource = try c.decodeOrZero(String.self, forKey: .routeSource)
        routeTableRanges = try c.decodeIfPresent([RouteTableIDRange].self, forKey: .routeTableRanges)
        routeTableRange = try c.decodeIfPresent(RouteTableRange.self, forKey: .routeTableRange)
        routeSyncDisabled = try c.decodeIfPresent(Bool.self, forKey: .routeSyncDisabled)
        ipv4NormalRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv4NormalRoutePriority)
        ipv4ElevatedRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv4ElevatedRoutePriority)
        ipv6NormalRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv6NormalRoutePriority)
        ipv6ElevatedRoutePriority = try c.decodeIfPresent(Int.self, forKey: .ipv6ElevatedRoutePriority)
        liveMigrationRouteConvergenceTime = try c.decodeIfPresent(String.self, forKey: .liveMigrationRouteConvergenceTime)
        wireguardEnabled = try c.decodeIfPresent(Bool.self, forKey: .wireguardEnabled)
        wireguardEnabledV6 = try c.decodeIfPresent(Bool.self, forKey: .wireguardEnabledV6)
        wireguardThreadingEnabled = try c.decodeIfPresent(Bool.self, forKey: .wireguardThreadingEnabled)
        wireguardListeningPort = try c.decodeIfPresent(Int.self, forKey: .wireguardListeningPort)
        wireguardListeningPortV6 = try c.decodeIfPresent(Int.self, forKey: .wireguardListeningPortV6)
        wireguardRoutingRulePriority = try c.decodeIfPresent(Int.self, forKey: .wireguardRoutingRulePriority)
        wireguardInterfaceName = try c.decodeOrZero(String.self, forKey: .wireguardInterfaceName)
        wireguardInterfaceNameV6 = try c.decodeOrZero(String.self, forKey: .wireguardInterfaceNameV6)
        wireguardMTU = try c.decodeIfPresent(Int.self, forKey: .wireguardMTU)
        wireguardMTUV6 = try c.decodeIfPresent(Int.self, forKey: .wireguardMTUV6)
        wireguardHostEncryptionEnabled = try c.decodeIfPresent(Bool.self, forKey: .wireguardHostEncryptionEnabled)
        wireguardKeepAlive = try c.decodeIfPresent(String.self, forKey: .wireguardKeepAlive)
        awsSrcDstCheck = try c.decodeIfPresent(AWSSrcDstCheckOption.self, forKey: .awsSrcDstCheck)
        serviceLoopPrevention = try c.decodeOrZero(String.self, forKey: .serviceLoopPrevention)
        workloadSourceSpoofing = try c.decodeOrZero(String.self, forKey: .workloadSourceSpoofing)
        mtuIfacePattern = try c.decodeOrZero(String.self, forKey: .mtuIfacePattern)
        floatingIPs = try c.decodeIfPresent(FloatingIPType.self, forKey: .floatingIPs)
        localSubnetL2Reachability = try c.decodeIfPresent(LocalSubnetL2ReachabilityMode.self, forKey: .localSubnetL2Reachability)
        localSubnetL2ReachabilityRefreshInterval = try c.decodeIfPresent(String.self, forKey: .localSubnetL2ReachabilityRefreshInterval)
        windowsManageFirewallRules = try c.decodeIfPresent(WindowsManageFirewallRulesMode.self, forKey: .windowsManageFirewallRules)
        goGCThreshold = try c.decodeIfPresent(Int.self, forKey: .goGCThreshold)
        goMemoryLimitMB = try c.decodeIfPresent(Int.self, forKey: .goMemoryLimitMB)
        goMaxProcs = try c.decodeIfPresent(Int.self, forKey: .goMaxProcs)
        requireMTUFile = try c.decodeIfPresent(Bool.self, forKey: .requireMTUFile)
        bpfMaglevMaxEndpointsPerService = try c.decodeIfPresent(Int.self, forKey: .bpfMaglevMaxEndpointsPerService)
        bpfMaglevMaxServices = try c.decodeIfPresent(Int.self, forKey: .bpfMaglevMaxServices)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(nodeSelector, forKey: .nodeSelector)
        try c.encodeIfPresent(useInternalDataplaneDriver, forKey: .useInternalDataplaneDriver)
        try c.encodeUnlessZero(dataplaneDriver, forKey: .dataplaneDriver)
        try c.encodeIfPresent(dataplaneWatchdogTimeout, forKey: .dataplaneWatchdogTimeout)
        try c.encodeIfPresent(ipv6Support, forKey: .ipv6Support)
        try c.encodeIfPresent(routeRefreshInterval, forKey: .routeRefreshInterval)
        try c.encodeIfPresent(interfaceRefreshInterval, forKey: .interfaceRefreshInterval)
        try c.encodeIfPresent(iptablesRefreshInterval, forKey: .iptablesRefreshInterval)
        try c.encodeIfPresent(iptablesPostWriteCheckInterval, forKey: .iptablesPostWriteCheckInterval)
        try c.encodeIfPresent(iptablesLockProbeInterval, forKey: .iptablesLockProbeInterval)
        try c.encodeUnlessZero(featureDetectOverride, forKey: .featureDetectOverride)
        try c.encodeUnlessZero(featureGates, forKey: .featureGates)
        try c.encodeIfPresent(ipsetsRefreshInterval, forKey: .ipsetsRefreshInterval)
        try c.encodeIfPresent(maxIpsetSize, forKey: .maxIpsetSize)
        try c.encodeIfPresent(iptablesBackend, forKey: .iptablesBackend)
        try c.encodeIfPresent(xdpRefreshInterval, forKey: .xdpRefreshInterval)
        try c.encodeIfPresent(netlinkTimeout, forKey: .netlinkTimeout)
        try c.encodeUnlessZero(metadataAddr, forKey: .metadataAddr)
        try c.encodeIfPresent(metadataPort, forKey: .metadataPort)
        try c.encodeUnlessZero(openstackRegion, forKey: .openstackRegion)
        try c.encodeUnlessZero(interfacePrefix, forKey: .interfacePrefix)
        try c.encodeUnlessZero(interfaceExclude, forKey: .interfaceExclude)
        try c.encodeUnlessZero(chainInsertMode, forKey: .chainInsertMode)
        try c.encodeUnlessZero(defaultEndpointToHostAction, forKey: .defaultEndpointToHostAction)
        try c.encodeUnlessZero(iptablesFilterAllowAction, forKey: .iptablesFilterAllowAction)
        try c.encodeUnlessZero(iptablesMangleAllowAction, forKey: .iptablesMangleAllowAction)
        try c.encodeUnlessZero(iptablesFilterDenyAction, forKey: .iptablesFilterDenyAction)
        try c.encodeUnlessZero(logPrefix, forKey: .logPrefix)
        try c.encodeIfPresent(logActionRateLimit, forKey: .logActionRateLimit)
        try c.encodeIfPresent(logActionRateLimitBurst, forKey: .logActionRateLimitBurst)
        try c.encodeUnlessZero(logFilePath, forKey: .logFilePath)
        try c.encodeUnlessZero(logSeverityFile, forKey: .logSeverityFile)
        try c.encodeUnlessZero(logSeverityScreen, forKey: .logSeverityScreen)
        try c.encodeUnlessZero(logSeveritySys, forKey: .logSeveritySys)
        try c.encodeUnlessZero(logDebugFilenameRegex, forKey: .logDebugFilenameRegex)
        try c.encodeIfPresent(ipipEnabled, forKey: .ipipEnabled)
        try c.encodeIfPresent(ipipMTU, forKey: .ipipMTU)
        try c.encodeIfPresent(vxlanEnabled, forKey: .vxlanEnabled)
        try c.encodeIfPresent(vxlanMTU, forKey: .vxlanMTU)
        try c.encodeIfPresent(vxlanMTUV6, forKey: .vxlanMTUV6)
        try c.encodeIfPresent(vxlanPort, forKey: .vxlanPort)
        try c.encodeIfPresent(vxlanVNI, forKey: .vxlanVNI)
        try c.encodeIfPresent(allowVXLANPacketsFromWorkloads, forKey: .allowVXLANPacketsFromWorkloads)
        try c.encodeIfPresent(allowIPIPPacketsFromWorkloads, forKey: .allowIPIPPacketsFromWorkloads)
        try c.encodeIfPresent(reportingInterval, forKey: .reportingInterval)
        try c.encodeIfPresent(reportingTTL, forKey: .reportingTTL)
        try c.encodeIfPresent(endpointReportingEnabled, forKey: .endpointReportingEnabled)
        try c.encodeIfPresent(endpointReportingDelay, forKey: .endpointReportingDelay)
        try c.encodeUnlessZero(endpointStatusPathPrefix, forKey: .endpointStatusPathPrefix)
        try c.encodeIfPresent(iptablesMarkMask, forKey: .iptablesMarkMask)
        try c.encodeIfPresent(disableConntrackInvalidCheck, forKey: .disableConntrackInvalidCheck)
        try c.encodeIfPresent(healthEnabled, forKey: .healthEnabled)
        try c.encodeIfPresent(healthHost, forKey: .healthHost)
        try c.encodeIfPresent(healthPort, forKey: .healthPort)
        try c.encodeUnlessZero(healthTimeoutOverrides, forKey: .healthTimeoutOverrides)
        try c.encodeIfPresent(prometheusMetricsEnabled, forKey: .prometheusMetricsEnabled)
        try c.encodeUnlessZero(prometheusMetricsHost, forKey: .prometheusMetricsHost)
        try c.encodeIfPresent(prometheusMetricsPort, forKey: .prometheusMetricsPort)
        try c.encodeIfPresent(prometheusGoMetricsEnabled, forKey: .prometheusGoMetricsEnabled)
        try c.encodeIfPresent(prometheusProcessMetricsEnabled, forKey: .prometheusProcessMetricsEnabled)
        try c.encodeIfPresent(prometheusWireGuardMetricsEnabled, forKey: .prometheusWireGuardMetricsEnabled)
        try c.encodeIfPresent(prometheusMetricsCAFile, forKey: .prometheusMetricsCAFile)
        try c.encodeIfPresent(prometheusMetricsCertFile, forKey: .prometheusMetricsCertFile)
        try c.encodeIfPresent(prometheusMetricsKeyFile, forKey: .prometheusMetricsKeyFile)
        try c.encodeIfPresent(prometheusMetricsClientAuth, forKey: .prometheusMetricsClientAuth)
        try c.encodeIfPresent(failsafeInboundHostPorts, forKey: .failsafeInboundHostPorts)
        try c.encodeIfPresent(failsafeOutboundHostPorts, forKey: .failsafeOutboundHostPorts)
        try c.encodeIfPresent(kubeNodePortRanges, forKey: .kubeNodePortRanges)
        try c.encodeUnlessZero(policySyncPathPrefix, forKey: .policySyncPathPrefix)
        try c.encodeIfPresent(usageReportingEnabled, forKey: .usageReportingEnabled)
        try c.encodeIfPresent(usageReportingInitialDelay, forKey: .usageReportingInitialDelay)
        try c.encodeIfPresent(usageReportingInterval, forKey: .usageReportingInterval)
        try c.encodeIfPresent(natPortRange, forKey: .natPortRange)
        try c.encodeUnlessZero(natOutgoingAddress, forKey: .natOutgoingAddress)
        try c.encodeIfPresent(natOutgoingExclusions, forKey: .natOutgoingExclusions)
        try c.encodeUnlessZero(deviceRouteSourceAddress, forKey: .deviceRouteSourceAddress)
        try c.encodeUnlessZero(deviceRouteSourceAddressIPv6, forKey: .deviceRouteSourceAddressIPv6)
        try c.encodeIfPresent(deviceRouteProtocol, forKey: .deviceRouteProtocol)
        try c.encodeIfPresent(removeExternalRoutes, forKey: .removeExternalRoutes)
        try c.encodeIfPresent(programClusterRoutes, forKey: .programClusterRoutes)
        try c.encodeUnlessZero(ipForwarding, forKey: .ipForwarding)
        try c.encodeIfPresent(externalNodesList, forKey: .externalNodesList)
        try c.encodeUnlessZero(debugMemoryProfilePath, forKey: .debugMemoryProfilePath)
        try c.encodeIfPresent(debugDisableLogDropping, forKey: .debugDisableLogDropping)
        try c.encodeIfPresent(debugSimulateCalcGraphHangAfter, forKey: .debugSimulateCalcGraphHangAfter)
        try c.encodeIfPresent(debugSimulateDataplaneHangAfter, forKey: .debugSimulateDataplaneHangAfter)
        try c.encodeIfPresent(debugSimulateDataplaneApplyDelay, forKey: .debugSimulateDataplaneApplyDelay)
        try c.encodeIfPresent(debugHost, forKey: .debugHost)
        try c.encodeIfPresent(debugPort, forKey: .debugPort)
        try c.encodeUnlessZero(iptablesNATOutgoingInterfaceFilter, forKey: .iptablesNATOutgoingInterfaceFilter)
        try c.encodeIfPresent(sidecarAccelerationEnabled, forKey: .sidecarAccelerationEnabled)
        try c.encodeIfPresent(xdpEnabled, forKey: .xdpEnabled)
        try c.encodeIfPresent(genericXDPEnabled, forKey: .genericXDPEnabled)
        try c.encodeIfPresent(nftablesMode, forKey: .nftablesMode)
        try c.encodeIfPresent(nftablesFlowTableOffload, forKey: .nftablesFlowTableOffload)
        try c.encodeUnlessZero(nftablesFlowTableDataIfacePattern, forKey: .nftablesFlowTableDataIfacePattern)
        try c.encodeIfPresent(nftablesRefreshInterval, forKey: .nftablesRefreshInterval)
        try c.encodeUnlessZero(nftablesFilterAllowAction, forKey: .nftablesFilterAllowAction)
        try c.encodeUnlessZero(nftablesMangleAllowAction, forKey: .nftablesMangleAllowAction)
        try c.encodeUnlessZero(nftablesFilterDenyAction, forKey: .nftablesFilterDenyAction)
        try c.encodeIfPresent(nftablesMarkMask, forKey: .nftablesMarkMask)
        try c.encodeIfPresent(bpfEnabled, forKey: .bpfEnabled)
        try c.encodeIfPresent(bpfOverlayHostSourceIP, forKey: .bpfOverlayHostSourceIP)
        try c.encodeIfPresent(bpfDisableUnprivileged, forKey: .bpfDisableUnprivileged)
        try c.encodeIfPresent(bpfJITHardening, forKey: .bpfJITHardening)
        try c.encode(bpfLogLevel, forKey: .bpfLogLevel)
        try c.encodeUnlessZero(bpfConntrackLogLevel, forKey: .bpfConntrackLogLevel)
        try c.encodeIfPresent(bpfConntrackMode, forKey: .bpfConntrackMode)
        try c.encodeIfPresent(bpfConntrackTimeouts, forKey: .bpfConntrackTimeouts)
        try c.encodeIfPresent(bpfIPFragTimeout, forKey: .bpfIPFragTimeout)
        try c.encodeIfPresent(bpfLogFilters, forKey: .bpfLogFilters)
        try c.encodeUnlessZero(bpfCTLBLogFilter, forKey: .bpfCTLBLogFilter)
        try c.encodeUnlessZero(bpfDataIfacePattern, forKey: .bpfDataIfacePattern)
        try c.encodeUnlessZero(bpfL3IfacePattern, forKey: .bpfL3IfacePattern)
        try c.encodeIfPresent(bpfConnectTimeLoadBalancingEnabled, forKey: .bpfConnectTimeLoadBalancingEnabled)
        try c.encodeIfPresent(bpfConnectTimeLoadBalancing, forKey: .bpfConnectTimeLoadBalancing)
        try c.encodeIfPresent(bpfHostNetworkedNATWithoutCTLB, forKey: .bpfHostNetworkedNATWithoutCTLB)
        try c.encodeUnlessZero(bpfExternalServiceMode, forKey: .bpfExternalServiceMode)
        try c.encodeIfPresent(bpfDSROptoutCIDRs, forKey: .bpfDSROptoutCIDRs)
        try c.encodeIfPresent(bpfExtToServiceConnmark, forKey: .bpfExtToServiceConnmark)
        try c.encodeIfPresent(bpfKubeProxyIptablesCleanupEnabled, forKey: .bpfKubeProxyIptablesCleanupEnabled)
        try c.encodeIfPresent(bpfKubeProxyMinSyncPeriod, forKey: .bpfKubeProxyMinSyncPeriod)
        try c.encodeIfPresent(bpfKubeProxyHealthzPort, forKey: .bpfKubeProxyHealthzPort)
        try c.encodeIfPresent(bpfPSNATPorts, forKey: .bpfPSNATPorts)
        try c.encodeIfPresent(bpfMapSizeNATFrontend, forKey: .bpfMapSizeNATFrontend)
        try c.encodeIfPresent(bpfMapSizeNATBackend, forKey: .bpfMapSizeNATBackend)
        try c.encodeIfPresent(bpfMapSizeNATAffinity, forKey: .bpfMapSizeNATAffinity)
        try c.encodeIfPresent(bpfMapSizeRoute, forKey: .bpfMapSizeRoute)
        try c.encodeIfPresent(bpfMapSizeConntrack, forKey: .bpfMapSizeConntrack)
        try c.encodeIfPresent(bpfMapSizePerCpuConntrack, forKey: .bpfMapSizePerCpuConntrack)
        try c.encodeUnlessZero(bpfMapSizeConntrackScaling, forKey: .bpfMapSizeConntrackScaling)
        try c.encodeIfPresent(bpfMapSizeConntrackCleanupQueue, forKey: .bpfMapSizeConntrackCleanupQueue)
        try c.encodeIfPresent(bpfMapSizeIPSets, forKey: .bpfMapSizeIPSets)
        try c.encodeIfPresent(bpfMapSizeIfState, forKey: .bpfMapSizeIfState)
        try c.encodeIfPresent(bpfHostConntrackBypass, forKey: .bpfHostConntrackBypass)
        try c.encodeIfPresent(bpfIPFragmentReassemblyEnabled, forKey: .bpfIPFragmentReassemblyEnabled)
        try c.encodeUnlessZero(bpfEnforceRPF, forKey: .bpfEnforceRPF)
        try c.encodeIfPresent(bpfPolicyDebugEnabled, forKey: .bpfPolicyDebugEnabled)
        try c.encodeIfPresent(bpfForceTrackPacketsFromIfaces, forKey: .bpfForceTrackPacketsFromIfaces)
        try c.encodeUnlessZero(bpfDisableGROForIfaces, forKey: .bpfDisableGROForIfaces)
        try c.encodeIfPresent(bpfExcludeCIDRsFromNAT, forKey: .bpfExcludeCIDRsFromNAT)
        try c.encodeIfPresent(bpfExportBufferSizeMB, forKey: .bpfExportBufferSizeMB)
        try c.encodeIfPresent(istioAmbientMode, forKey: .istioAmbientMode)
        try c.encodeIfPresent(istioDSCPMark, forKey: .istioDSCPMark)
        try c.encodeUnlessZero(cgroupV2Path, forKey: .cgroupV2Path)
        try c.encodeIfPresent(flowLogsPolicyEvaluationMode, forKey: .flowLogsPolicyEvaluationMode)
        try c.encodeUnlessZero(bpfRedirectToPeer, forKey: .bpfRedirectToPeer)
        try c.encodeIfPresent(bpfAttachType, forKey: .bpfAttachType)
        try c.encodeIfPresent(flowLogsFlushInterval, forKey: .flowLogsFlushInterval)
        try c.encodeIfPresent(flowLogsCollectorDebugTrace, forKey: .flowLogsCollectorDebugTrace)
        try c.encodeIfPresent(flowLogsGoldmaneServer, forKey: .flowLogsGoldmaneServer)
        try c.encodeIfPresent(flowLogsLocalReporter, forKey: .flowLogsLocalReporter)
        try c.encodeUnlessZero(bpfProfiling, forKey: .bpfProfiling)
        try c.encodeUnlessZero(routeSource, forKey: .routeSource)
        try c.encodeIfPresent(routeTableRanges, forKey: .routeTableRanges)
        try c.encodeIfPresent(routeTableRange, forKey: .routeTableRange)
        try c.encodeIfPresent(routeSyncDisabled, forKey: .routeSyncDisabled)
        try c.encodeIfPresent(ipv4NormalRoutePriority, forKey: .ipv4NormalRoutePriority)
        try c.encodeIfPresent(ipv4ElevatedRoutePriority, forKey: .ipv4ElevatedRoutePriority)
        try c.encodeIfPresent(ipv6NormalRoutePriority, forKey: .ipv6NormalRoutePriority)
        try c.encodeIfPresent(ipv6ElevatedRoutePriority, forKey: .ipv6ElevatedRoutePriority)
        try c.encodeIfPresent(liveMigrationRouteConvergenceTime, forKey: .liveMigrationRouteConvergenceTime)
        try c.encodeIfPresent(wireguardEnabled, forKey: .wireguardEnabled)
        try c.encodeIfPresent(wireguardEnabledV6, forKey: .wireguardEnabledV6)
        try c.encodeIfPresent(wireguardThreadingEnabled, forKey: .wireguardThreadingEnabled)
        try c.encodeIfPresent(wireguardListeningPort, forKey: .wireguardListeningPort)
        try c.encodeIfPresent(wireguardListeningPortV6, forKey: .wireguardListeningPortV6)
        try c.encodeIfPresent(wireguardRoutingRulePriority, forKey: .wireguardRoutingRulePriority)
        try c.encodeUnlessZero(wireguardInterfaceName, forKey: .wireguardInterfaceName)
        try c.encodeUnlessZero(wireguardInterfaceNameV6, forKey: .wireguardInterfaceNameV6)
        try c.encodeIfPresent(wireguardMTU, forKey: .wireguardMTU)
        try c.encodeIfPresent(wireguardMTUV6, forKey: .wireguardMTUV6)
        try c.encodeIfPresent(wireguardHostEncryptionEnabled, forKey: .wireguardHostEncryptionEnabled)
        try c.encodeIfPresent(wireguardKeepAlive, forKey: .wireguardKeepAlive)
        try c.encodeIfPresent(awsSrcDstCheck, forKey: .awsSrcDstCheck)
        try c.encodeUnlessZero(serviceLoopPrevention, forKey: .serviceLoopPrevention)
        try c.encodeUnlessZero(workloadSourceSpoofing, forKey: .workloadSourceSpoofing)
        try c.encodeUnlessZero(mtuIfacePattern, forKey: .mtuIfacePattern)
        try c.encodeIfPresent(floatingIPs, forKey: .floatingIPs)
        try c.encodeIfPresent(localSubnetL2Reachability, forKey: .localSubnetL2Reachability)
        try c.encodeIfPresent(localSubnetL2ReachabilityRefreshInterval, forKey: .localSubnetL2ReachabilityRefreshInterval)
        try c.encodeIfPresent(windowsManageFirewallRules, forKey: .windowsManageFirewallRules)
        try c.encodeIfPresent(goGCThreshold, forKey: .goGCThreshold)
        try c.encodeIfPresent(goMemoryLimitMB, forKey: .goMemoryLimitMB)
        try c.encodeIfPresent(goMaxProcs, forKey: .goMaxProcs)
        try c.encodeIfPresent(requireMTUFile, forKey: .requireMTUFile)
        try c.encodeIfPresent(bpfMaglevMaxEndpointsPerService, forKey: .bpfMaglevMaxEndpointsPerService)
        try c.encodeIfPresent(bpfMaglevMaxServices, forKey: .bpfMaglevMaxServices)
    }

    /// The per-field constraints of the CRD schema and Go validator tags.
    func validateFieldConstraints(at p: FieldPath, into v: inout Validator) {
        v.maxLength(nodeSelector, 1024, at: p["nodeSelector"])
        v.goDuration(dataplaneWatchdogTimeout, at: p["dataplaneWatchdogTimeout"], felixPattern: false)
        v.goDuration(routeRefreshInterval, at: p["routeRefreshInterval"], felixPattern: true)
        v.goDuration(interfaceRefreshInterval, at: p["interfaceRefreshInterval"], felixPattern: true)
        v.goDuration(iptablesRefreshInterval, at: p["iptablesRefreshInterval"], felixPattern: true)
        v.goDuration(iptablesPostWriteCheckInterval, at: p["iptablesPostWriteCheckInterval"], felixPattern: true)
        v.goDuration(iptablesLockProbeInterval, at: p["iptablesLockProbeInterval"], felixPattern: true)
        v.keyValueList(featureDetectOverride, at: p["featureDetectOverride"])
        v.keyValueList(featureGates, at: p["featureGates"])
        v.goDuration(ipsetsRefreshInterval, at: p["ipsetsRefreshInterval"], felixPattern: true)
        v.goDuration(xdpRefreshInterval, at: p["xdpRefreshInterval"], felixPattern: true)
        v.goDuration(netlinkTimeout, at: p["netlinkTimeout"], felixPattern: true)
        v.oneOf(chainInsertMode, ["Insert", "Append"], at: p["chainInsertMode"], ignoringCase: true)
        v.oneOf(defaultEndpointToHostAction, ["Drop", "Accept", "Return"], at: p["defaultEndpointToHostAction"], ignoringCase: true)
        v.oneOf(iptablesFilterAllowAction, ["Accept", "Return"], at: p["iptablesFilterAllowAction"], ignoringCase: true)
        v.oneOf(iptablesMangleAllowAction, ["Accept", "Return"], at: p["iptablesMangleAllowAction"], ignoringCase: true)
        v.oneOf(iptablesFilterDenyAction, ["Drop", "Reject"], at: p["iptablesFilterDenyAction"], ignoringCase: true)
        v.inRange(logActionRateLimitBurst, 0...9999, at: p["logActionRateLimitBurst"])
        v.oneOf(logSeverityFile, ["Trace", "Debug", "Info", "Warning", "Error", "Fatal"], at: p["logSeverityFile"], ignoringCase: true)
        v.oneOf(logSeverityScreen, ["Trace", "Debug", "Info", "Warning", "Error", "Fatal"], at: p["logSeverityScreen"], ignoringCase: true)
        v.oneOf(logSeveritySys, ["Trace", "Debug", "Info", "Warning", "Error", "Fatal"], at: p["logSeveritySys"], ignoringCase: true)
        v.regularExpression(logDebugFilenameRegex, at: p["logDebugFilenameRegex"])
        v.goDuration(reportingInterval, at: p["reportingInterval"], felixPattern: true)
        v.goDuration(reportingTTL, at: p["reportingTTL"], felixPattern: true)
        v.goDuration(endpointReportingDelay, at: p["endpointReportingDelay"], felixPattern: true)
        v.inRange(iptablesMarkMask, 0...4294967295, at: p["iptablesMarkMask"])
        v.prometheusHost(prometheusMetricsHost, at: p["prometheusMetricsHost"])
        v.maxItems(kubeNodePortRanges, 7, at: p["kubeNodePortRanges"])
        v.goDuration(usageReportingInitialDelay, at: p["usageReportingInitialDelay"], felixPattern: true)
        v.goDuration(usageReportingInterval, at: p["usageReportingInterval"], felixPattern: true)
        v.maxLength(natOutgoingAddress, 45, at: p["natOutgoingAddress"])
        v.maxLength(deviceRouteSourceAddress, 45, at: p["deviceRouteSourceAddress"])
        v.maxLength(deviceRouteSourceAddressIPv6, 45, at: p["deviceRouteSourceAddressIPv6"])
        v.oneOf(ipForwarding, ["Enabled", "Disabled"], at: p["ipForwarding"], ignoringCase: false)
        v.goDuration(debugSimulateCalcGraphHangAfter, at: p["debugSimulateCalcGraphHangAfter"], felixPattern: true)
        v.goDuration(debugSimulateDataplaneHangAfter, at: p["debugSimulateDataplaneHangAfter"], felixPattern: true)
        v.goDuration(debugSimulateDataplaneApplyDelay, at: p["debugSimulateDataplaneApplyDelay"], felixPattern: true)
        v.inRange(debugPort, 0...65535, at: p["debugPort"])
        v.interfaceFilter(iptablesNATOutgoingInterfaceFilter, at: p["iptablesNATOutgoingInterfaceFilter"])
        v.regularExpression(nftablesFlowTableDataIfacePattern, at: p["nftablesFlowTableDataIfacePattern"])
        v.goDuration(nftablesRefreshInterval, at: p["nftablesRefreshInterval"], felixPattern: false)
        v.oneOf(nftablesFilterAllowAction, ["Accept", "Return"], at: p["nftablesFilterAllowAction"], ignoringCase: true)
        v.oneOf(nftablesMangleAllowAction, ["Accept", "Return"], at: p["nftablesMangleAllowAction"], ignoringCase: true)
        v.oneOf(nftablesFilterDenyAction, ["Drop", "Reject"], at: p["nftablesFilterDenyAction"], ignoringCase: true)
        v.inRange(nftablesMarkMask, 0...4294967295, at: p["nftablesMarkMask"])
        v.oneOf(bpfLogLevel, ["Off", "Info", "Debug"], at: p["bpfLogLevel"], ignoringCase: true)
        v.oneOf(bpfConntrackLogLevel, ["Off", "Debug"], at: p["bpfConntrackLogLevel"], ignoringCase: false)
        v.goDuration(bpfIPFragTimeout, at: p["bpfIPFragTimeout"], felixPattern: true)
        v.bpfLogFilters(bpfLogFilters, at: p["bpfLogFilters"])
        v.regularExpression(bpfDataIfacePattern, at: p["bpfDataIfacePattern"])
        v.regularExpression(bpfL3IfacePattern, at: p["bpfL3IfacePattern"])
        v.oneOf(bpfExternalServiceMode, ["Tunnel", "DSR"], at: p["bpfExternalServiceMode"], ignoringCase: true)
        v.cidrList(bpfDSROptoutCIDRs, at: p["bpfDSROptoutCIDRs"])
        v.inRange(bpfExtToServiceConnmark, 0...4294967295, at: p["bpfExtToServiceConnmark"])
        v.goDuration(bpfKubeProxyMinSyncPeriod, at: p["bpfKubeProxyMinSyncPeriod"], felixPattern: true)
        v.inRange(bpfKubeProxyHealthzPort, 0...65535, at: p["bpfKubeProxyHealthzPort"])
        v.oneOf(bpfMapSizeConntrackScaling, ["Disabled", "DoubleIfFull"], at: p["bpfMapSizeConntrackScaling"], ignoringCase: true)
        v.inRange(bpfMapSizeConntrackCleanupQueue, 1...Int64.max, at: p["bpfMapSizeConntrackCleanupQueue"])
        v.oneOf(bpfEnforceRPF, ["Disabled", "Strict", "Loose"], at: p["bpfEnforceRPF"], ignoringCase: true)
        v.interfaceFilters(bpfForceTrackPacketsFromIfaces, at: p["bpfForceTrackPacketsFromIfaces"])
        v.regularExpression(bpfDisableGROForIfaces, at: p["bpfDisableGROForIfaces"])
        v.cidrList(bpfExcludeCIDRsFromNAT, at: p["bpfExcludeCIDRsFromNAT"])
        v.oneOf(bpfRedirectToPeer, ["Enabled", "Disabled"], at: p["bpfRedirectToPeer"], ignoringCase: false)
        v.goDuration(flowLogsFlushInterval, at: p["flowLogsFlushInterval"], felixPattern: true)
        v.oneOf(flowLogsLocalReporter, ["Disabled", "Enabled"], at: p["flowLogsLocalReporter"], ignoringCase: false)
        v.oneOf(bpfProfiling, ["Enabled", "Disabled"], at: p["bpfProfiling"], ignoringCase: false)
        v.oneOf(routeSource, ["WorkloadIPs", "CalicoIPAM"], at: p["routeSource"], ignoringCase: true)
        v.inRange(ipv4NormalRoutePriority, 1...2147483646, at: p["ipv4NormalRoutePriority"])
        v.inRange(ipv4ElevatedRoutePriority, 1...2147483646, at: p["ipv4ElevatedRoutePriority"])
        v.inRange(ipv6NormalRoutePriority, 1...2147483646, at: p["ipv6NormalRoutePriority"])
        v.inRange(ipv6ElevatedRoutePriority, 1...2147483646, at: p["ipv6ElevatedRoutePriority"])
        v.goDuration(liveMigrationRouteConvergenceTime, at: p["liveMigrationRouteConvergenceTime"], felixPattern: false)
        v.inRange(wireguardListeningPort, 1...65535, at: p["wireguardListeningPort"])
        v.inRange(wireguardListeningPortV6, 1...65535, at: p["wireguardListeningPortV6"])
        v.inRange(wireguardRoutingRulePriority, 1...32765, at: p["wireguardRoutingRulePriority"])
        if !wireguardInterfaceName.isEmpty { v.interfaceName(wireguardInterfaceName, at: p["wireguardInterfaceName"]) }
        if !wireguardInterfaceNameV6.isEmpty { v.interfaceName(wireguardInterfaceNameV6, at: p["wireguardInterfaceNameV6"]) }
        v.goDuration(wireguardKeepAlive, at: p["wireguardKeepAlive"], felixPattern: true)
        v.oneOf(serviceLoopPrevention, ["Drop", "Reject", "Disabled"], at: p["serviceLoopPrevention"], ignoringCase: true)
        v.oneOf(workloadSourceSpoofing, ["Disabled", "Any"], at: p["workloadSourceSpoofing"], ignoringCase: true)
        v.regularExpression(mtuIfacePattern, at: p["mtuIfacePattern"])
        v.goDuration(localSubnetL2ReachabilityRefreshInterval, at: p["localSubnetL2ReachabilityRefreshInterval"], felixPattern: false)
        v.inRange(goGCThreshold, -1...Int64.max, at: p["goGCThreshold"])
        v.inRange(goMemoryLimitMB, -1...Int64.max, at: p["goMemoryLimitMB"])
        v.inRange(goMaxProcs, -1...Int64.max, at: p["goMaxProcs"])
        v.inRange(bpfMaglevMaxEndpointsPerService, 1...3000, at: p["bpfMaglevMaxEndpointsPerService"])
        v.inRange(bpfMaglevMaxServices, 1...3000, at: p["bpfMaglevMaxServices"])
    }
}
